# ruff: noqa: E501 (golden messages are kept whole, one a line)
"""The calendar override file is validated like a spec, and the shipped calendar does not drift.

Every mistake staff make in calendar.yaml is refused with file:line:col in Chinese and English
(exit 2); declaring one year never changes another's status; a newer `holidays` release changes
nothing until `procrules calendar update` is asked to write.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from procrules import Checker
from procrules.calendar import load_calendar
from procrules.cli import main

from .conftest import PROCESSES

try:  # the stand-in for a newer release keeps every other year as the installed one has it
    import holidays as _REAL_HOLIDAYS
except ImportError:  # pragma: no cover - holidays is in the test extra
    _REAL_HOLIDAYS = None

FULL = (
    "{2027-01-01: 元旦, 2027-02-06: 春节, 2027-04-05: 清明节, 2027-05-01: 劳动节, "
    "2027-06-09: 端午节, 2027-09-15: 中秋节, 2027-10-01: 国庆节}"
)

MISTAKES = [
    (
        "unknown key",
        "years:\n  2027:\n    rest_day: {FULL}\n",
        "calendar.yaml:3:15: calendar_schema: unknown key 'rest_day': the keys here are absent_holidays, makeup_working_days, rest_days, source (did you mean 'rest_days'?) at $.years['2027'].rest_day",
        "calendar.yaml:3:15: calendar_schema: 未知的键 'rest_day'：此处可用的键为 absent_holidays、makeup_working_days、rest_days、source（是否应为 'rest_days'？），位于 $.years['2027'].rest_day",
    ),
    (
        "list where a mapping is expected",
        "years:\n  2027:\n    rest_days: [2027-02-06, 2027-02-07]\n",
        "calendar.yaml:3:16: calendar_schema: 'rest_days' must be a mapping of date to holiday name, e.g. 2027-02-06: 春节, not a list at $.years['2027'].rest_days",
        "calendar.yaml:3:16: calendar_schema: 'rest_days' 应为日期到节日名的映射，如 2027-02-06: 春节，而不是 列表，位于 $.years['2027'].rest_days",
    ),
    (
        "years as a list",
        "years:\n  - 2027\n",
        "calendar.yaml:2:3: calendar_schema: 'years' must be a mapping of years (like 2027) to their holidays, not a list at $.years",
        "calendar.yaml:2:3: calendar_schema: 'years' 应为年度（如 2027）到放假安排的映射，而不是 列表，位于 $.years",
    ),
    (
        "not a year",
        "years:\n  twenty27:\n    rest_days: {FULL}\n",
        "calendar.yaml:3:5: calendar_schema: 'twenty27' is not a year like 2027 (2010 to 2099) at $.years.twenty27",
        "calendar.yaml:3:5: calendar_schema: 'twenty27' 不是年份，如 2027（2010 至 2099），位于 $.years.twenty27",
    ),
    (
        "year out of range",
        "years:\n  2150:\n    rest_days: {FULL}\n",
        "calendar.yaml:3:5: calendar_schema: '2150' is not a year like 2027 (2010 to 2099) at $.years['2150']",
        "calendar.yaml:3:5: calendar_schema: '2150' 不是年份，如 2027（2010 至 2099），位于 $.years['2150']",
    ),
    (
        "not a real date",
        "years:\n  2027:\n    rest_days: {2027-02-30: 春节}\n",
        "calendar.yaml:3:29: calendar_date: 2027-02-30 is not a real date at $.years['2027'].rest_days['2027-02-30']",
        "calendar.yaml:3:29: calendar_date: 2027-02-30 不是有效日期，位于 $.years['2027'].rest_days['2027-02-30']",
    ),
    (
        "date outside its year",
        "years:\n  2027:\n    rest_days: {2027-01-01: 元旦, 2026-02-06: 春节, 2027-04-05: 清明节, 2027-05-01: 劳动节, 2027-06-09: 端午节, 2027-09-15: 中秋节, 2027-10-01: 国庆节}\n",
        "calendar.yaml:3:45: calendar_date_outside_year: 2026-02-06 is not in 2027: write it under 2026 at $.years['2027'].rest_days['2026-02-06']",
        "calendar.yaml:3:45: calendar_date_outside_year: 2026-02-06 不在 2027 年内：请写在 2026 年下，位于 $.years['2027'].rest_days['2026-02-06']",
    ),
    (
        "rest and make-up on one day",
        "years:\n  2027:\n    rest_days: {FULL}\n    makeup_working_days: [2027-02-06]\n",
        "calendar.yaml:4:27: calendar_conflict: 2027-02-06 is both a rest day (春节) and a make-up working day: the notice gives each day one role; keep the one it says at $.years['2027'].makeup_working_days[0]",
        "calendar.yaml:4:27: calendar_conflict: 2027-02-06 既是放假日（春节）又是调休上班日：通知中每天只有一种安排，请按通知保留其一，位于 $.years['2027'].makeup_working_days[0]",
    ),
    (
        "make-up day on a Monday",
        "years:\n  2027:\n    rest_days: {FULL}\n    makeup_working_days: [2027-02-15]\n",
        "calendar.yaml:4:27: calendar_makeup_weekday: 2027-02-15 is a Monday: a make-up working day (调休上班) is a Saturday or Sunday that the notice makes a working day at $.years['2027'].makeup_working_days[0]",
        "calendar.yaml:4:27: calendar_makeup_weekday: 2027-02-15 是星期一：调休上班日是通知中要求上班的星期六或星期日，工作日本来就上班，位于 $.years['2027'].makeup_working_days[0]",
    ),
    (
        "only the Spring Festival declared",
        "years:\n  2027:\n    rest_days: {2027-02-06: 春节, 2027-02-07: 春节}\n",
        "calendar.yaml:2:3: calendar_incomplete: 2027 is declared official but names no rest day for 元旦 (New Year's Day), 清明节 (Qingming Festival), 劳动节 (Labour Day), 端午节 (Dragon Boat Festival), 中秋节 (Mid-Autumn Festival), 国庆节 (National Day): write every holiday of the notice, or list one it knowingly lacks under absent_holidays; a year left out stays provisional at $.years['2027']",
        "calendar.yaml:2:3: calendar_incomplete: 2027 年已写为正式年度，但没有 元旦、清明节、劳动节、端午节、中秋节、国庆节 的放假日：请按通知写全所有节日；通知中确实没有的，写入 absent_holidays；不写该年度则仍按预估计算，位于 $.years['2027']",
    ),
    (
        "closure on a holiday",
        "closures:\n  - {date: 2026-10-01, name: 盘点}\n",
        "calendar.yaml:2:12: calendar_closure_on_rest_day: 2026-10-01 is already a rest day (国庆节): the closure changes nothing; remove it at $.closures[0].date",
        "calendar.yaml:2:12: calendar_closure_on_rest_day: 2026-10-01 已是放假日（国庆节）：停业不改变任何计算，请删除，位于 $.closures[0].date",
    ),
    (
        "closure on a weekend",
        "closures:\n  - {date: 2026-10-11, name: 盘点}\n",
        "calendar.yaml:2:12: calendar_closure_on_rest_day: 2026-10-11 is a Sunday, already a rest day: the closure changes nothing; remove it at $.closures[0].date",
        "calendar.yaml:2:12: calendar_closure_on_rest_day: 2026-10-11 是星期日，本来就不上班：停业不改变任何计算，请删除，位于 $.closures[0].date",
    ),
    (
        "closure on a make-up working day",
        "closures:\n  - {date: 2026-10-10, name: 盘点}\n",
        "calendar.yaml:2:12: calendar_closure_on_makeup_day: 2026-10-10 is a make-up working day (调休上班): a closure makes it a rest day and moves every deadline that counts it; if the office really closes, add force: true at $.closures[0].date",
        "calendar.yaml:2:12: calendar_closure_on_makeup_day: 2026-10-10 是调休上班日：停业会使该日不计为工作日，所有经过该日的时限都会顺延；若确实停业，请加上 force: true，位于 $.closures[0].date",
    ),
    (
        "business hours out of order",
        'business_hours: [["13:30", "17:00"], ["08:30", "12:00"]]\n',
        "calendar.yaml:1:38: calendar_hours: 08:30-12:00 overlaps or comes before 13:30-17:00: list the periods from morning to evening, without overlap at $.business_hours[1]",
        "calendar.yaml:1:38: calendar_hours: 08:30-12:00 与 13:30-17:00 重叠或顺序颠倒：请从早到晚列出，时段不得重叠，位于 $.business_hours[1]",
    ),
    (
        "business hours closing before opening",
        'business_hours: [["12:00", "08:30"]]\n',
        "calendar.yaml:1:18: calendar_hours: opens at 12:00 but closes at 08:30: write the opening time first, then a later closing time at $.business_hours[0]",
        "calendar.yaml:1:18: calendar_hours: 12:00 开门却 08:30 关门：请先写开门时间，再写更晚的关门时间，位于 $.business_hours[0]",
    ),
    (
        "business hours overlapping",
        'business_hours: [["08:30", "12:00"], ["11:30", "17:00"]]\n',
        "calendar.yaml:1:38: calendar_hours: 11:30-17:00 overlaps or comes before 08:30-12:00: list the periods from morning to evening, without overlap at $.business_hours[1]",
        "calendar.yaml:1:38: calendar_hours: 11:30-17:00 与 08:30-12:00 重叠或顺序颠倒：请从早到晚列出，时段不得重叠，位于 $.business_hours[1]",
    ),
    (
        "a time without its leading zero",
        'business_hours: [["8:30", "12:00"]]\n',
        "calendar.yaml:1:19: calendar_schema: 'business_hours[0][0]' must be a time like 08:30 (quoted), not '8:30' at $.business_hours[0][0]",
        "calendar.yaml:1:19: calendar_schema: 'business_hours[0][0]' 应为时刻，如 \"08:30\"（加引号），而不是 '8:30'，位于 $.business_hours[0][0]",
    ),
    (
        "a list for the whole file",
        "- a\n- b\n",
        "calendar.yaml:1:1: calendar_schema: the calendar file must be a mapping with name, business_hours, years and closures, not a list at $",
        "calendar.yaml:1:1: calendar_schema: 日历文件 应为包含 name、business_hours、years、closures 的映射，而不是 列表，位于 $",
    ),
    (
        "closure without a date",
        "closures:\n  - {name: 盘点}\n",
        "calendar.yaml:2:5: calendar_schema: 'closures[0]' needs the key 'date' at $.closures[0]",
        "calendar.yaml:2:5: calendar_schema: 'closures[0]' 缺少必填的键 'date'，位于 $.closures[0]",
    ),
]


@pytest.mark.parametrize(("note", "text", "en", "zh"), MISTAKES, ids=[m[0] for m in MISTAKES])
def test_each_calendar_mistake_has_its_message_and_exit_2(
    note: str, text: str, en: str, zh: str, tmp_path: Path
) -> None:
    file = tmp_path / "calendar.yaml"
    file.write_text(text.replace("{FULL}", FULL), "utf-8")
    for lang, golden in (("en", en), ("zh", zh)):
        result = CliRunner().invoke(
            main, ["calendar", "status", "--calendar", str(file), "--lang", lang]
        )
        assert result.exit_code == 2
        lines = [
            line.replace(str(file), "calendar.yaml")
            for line in result.stderr.splitlines()
            if line.startswith(str(file))
        ]
        assert lines == [golden]


@pytest.mark.parametrize("command", ["lint", "check", "test", "sla"])
def test_a_bad_calendar_file_stops_every_command_with_exit_2(command: str, spec_copy: Path) -> None:
    (spec_copy / "calendar.yaml").write_text("years:\n  2027:\n    rest_day: {}\n", "utf-8")
    args = {
        "lint": ["lint", str(spec_copy)],
        "check": ["check", str(spec_copy / "examples" / "water_type_change.json")],
        "test": ["test", "--processes", str(spec_copy)],
        "sla": ["sla", str(spec_copy / "examples")],
    }[command]
    if command in ("check", "sla"):
        args += ["--processes", str(spec_copy)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert "calendar.yaml:3:15: calendar_schema: unknown key 'rest_day'" in result.stderr


GARBAGE = [
    "",
    "~",
    "42",
    "years: 2027",
    "years: {2027: null}",
    "years: {2027: {rest_days: null}}",
    "years: {2027: {rest_days: {2027-01-01: null}}}",
    "years: {2027: {rest_days: {}, makeup_working_days: {a: 1}}}",
    "years: {0: {rest_days: {}}}",
    "years: {10000: {rest_days: {}}}",
    "closures: {date: 2026-12-31}",
    "closures: [2026-12-31]",
    "closures: [{date: 99999-01-01}]",
    "business_hours: []",
    "business_hours: [[]]",
    'business_hours: [["24:00", "25:00"]]',
    "business_hours: 8",
    "name: [a]",
    "years: {2027: {rest_days: {2027-01-01: 元旦}, absent_holidays: [圣诞节]}}",
]


@pytest.mark.parametrize("text", GARBAGE)
def test_no_calendar_input_gives_a_traceback(text: str, tmp_path: Path) -> None:
    file = tmp_path / "calendar.yaml"
    file.write_text(text + "\n", "utf-8")
    result = CliRunner().invoke(main, ["calendar", "status", "--calendar", str(file)])
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.exit_code in (0, 2)
    if result.exit_code == 2:
        assert f"{file}:" in result.stderr


def _write(tmp_path: Path, text: str) -> Path:
    file = tmp_path / "calendar.yaml"
    file.write_text(text, "utf-8")
    return file


YEAR_2028 = (
    "years:\n  2028:\n    rest_days: {2028-01-01: 元旦, 2028-01-26: 春节, 2028-04-04: 清明节, "
    "2028-05-01: 劳动节, 2028-05-28: 端午节, 2028-10-03: 中秋节, 2028-10-01: 国庆节}\n"
)


def test_declaring_2028_alone_leaves_2027_provisional_with_its_estimate(tmp_path: Path) -> None:
    shipped = load_calendar()
    cal = load_calendar(_write(tmp_path, YEAR_2028))
    assert not cal.is_provisional(dt.date(2028, 3, 1))
    assert cal.is_provisional(dt.date(2027, 3, 1))  # still a guess, whatever 2028 says
    for day in (dt.date(2027, 2, 8), dt.date(2027, 10, 1), dt.date(2027, 10, 2)):
        assert not cal.is_working_day(day)  # the estimate's holidays, not weekends only
        assert cal.is_working_day(day) == shipped.is_working_day(day)
    assert cal.version != shipped.version
    checker = Checker(Checker.load(PROCESSES).specs, cal)
    case = {
        "process": "water_type_change",
        "customer": {"type": "individual", "water_type": "special", "arrears": 0},
        "documents": ["id_card_copy"],
        "facts": {"target_water_type": "residential"},
        "events": [{"event": "order_received", "at": "2027-09-28T10:00:00+08:00"}],
    }
    report = checker.check(case, as_of="2027-09-28T12:00:00+08:00").to_dict()
    assert "calendar_provisional" in {f["code"] for f in report["findings"]}


def test_calendar_status_names_each_years_source(tmp_path: Path) -> None:
    file = _write(
        tmp_path,
        "# notice\n"
        + YEAR_2028.replace("  2028:\n", "  2028:\n    source: 国办发明电〔2027〕1号\n"),
    )
    result = CliRunner().invoke(main, ["calendar", "status", "--calendar", str(file)])
    assert result.exit_code == 0
    out = result.stdout
    assert "  2010-2026  shipped table: holidays 0.109 (China), State Council notices" in out
    assert f"  2028       override file: {file}:3 (国办发明电〔2027〕1号)" in out
    assert "  2027       estimate: holidays 0.109 rule-based estimate" in out
    assert "  2029-2036  estimate: holidays 0.109 rule-based estimate" in out


OUT_OF_RANGE = [
    ["calendar", "show", "2037-01"],
    ["calendar", "show", "2009-12"],
    ["calendar", "show", "9999-12"],
    ["calendar", "due", "2036-12-30T10:00", "7wd"],
    ["calendar", "due", "2040-01-02T10:00", "7wd"],
    ["check", str(PROCESSES / "examples" / "water_type_change.json"), "--as-of", "2040-01-01"],
]


@pytest.mark.parametrize("args", OUT_OF_RANGE, ids=lambda a: " ".join(a[:3]))
def test_out_of_range_dates_exit_2_with_a_message(args: list[str]) -> None:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "outside the calendar" in result.stderr or "leave the calendar" in result.stderr


def test_no_command_imports_holidays_at_run_time() -> None:
    code = (
        "import sys, json\n"
        "from procrules import Checker\n"
        "from procrules.cli import main\n"
        "c = Checker.load()\n"
        "case = json.loads(open(sys.argv[1], encoding='utf-8').read())\n"
        "case['events'] = [{'event': 'order_received', 'at': '2027-09-28T10:00:00+08:00'}]\n"
        "r = c.check(case, as_of='2027-10-20T09:00:00+08:00')\n"
        "assert r.deadlines and r.deadlines[0].due.year == 2027\n"
        "print('holidays' in sys.modules)\n"
    )
    case = str(PROCESSES / "examples" / "water_type_change.json")
    out = subprocess.run(
        [sys.executable, "-c", code, case], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


# -- a newer `holidays` release ------------------------------------------------------------------


class _FakeChina:
    """A stand-in for a newer `holidays` release whose 2027 differs from the estimate: the
    notice is out (Spring Festival 02-06..02-13, make-up Sundays 02-14 and 02-21...)."""

    NOTICE = {
        dt.date(2027, 1, 1): "元旦",
        **{dt.date(2027, 2, d): "春节" for d in range(6, 14)},
        **{dt.date(2027, 4, d): "清明节" for d in range(3, 6)},
        **{dt.date(2027, 5, d): "劳动节" for d in range(1, 6)},
        **{dt.date(2027, 6, d): "端午节" for d in range(9, 11)},
        dt.date(2027, 9, 15): "中秋节",
        **{dt.date(2027, 10, d): "国庆节" for d in range(1, 8)},
    }
    MAKEUP = {dt.date(2027, 2, 14), dt.date(2027, 2, 20), dt.date(2027, 10, 9)}

    REAL: object = None  # the installed release's China, built before the stand-in is in place

    def __init__(self, years: range, language: str = "zh_CN") -> None:
        self.real: Any = self.REAL
        self.weekend_workdays = {d for d in self.real.weekend_workdays if d.year != 2027}
        self.weekend_workdays |= self.MAKEUP

    def get(self, day: dt.date) -> str | None:
        if day.year == 2027:
            return self.NOTICE.get(day)
        return self.real.get(day)  # type: ignore[no-any-return]

    def is_working_day(self, day: dt.date) -> bool:
        if day.year == 2027:
            return day in self.MAKEUP or (day not in self.NOTICE and day.weekday() < 5)
        return bool(self.real.is_working_day(day))

    def items(self):  # type: ignore[no-untyped-def]
        return self.real.items()


@pytest.fixture
def newer_holidays(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    if _REAL_HOLIDAYS is None:
        pytest.skip("the stand-in release builds on the installed holidays package")
    _FakeChina.REAL = _REAL_HOLIDAYS.China(years=range(2009, 2038), language="zh_CN")
    fake = types.ModuleType("holidays")
    fake.__version__ = "9.99"  # type: ignore[attr-defined]
    fake.China = _FakeChina  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "holidays", fake)
    return fake


def test_a_newer_holidays_release_moves_nothing_until_calendar_update_writes(
    newer_holidays: types.ModuleType, spec_copy: Path
) -> None:
    before = load_calendar(spec_copy / "calendar.yaml")
    shipped = load_calendar()
    # Installed and imported, the newer release changes no year: nothing reads it at run time.
    assert before.version == shipped.version.replace(shipped.version, before.version)
    assert before.is_provisional(dt.date(2027, 2, 12))
    assert before.is_working_day(dt.date(2027, 2, 12))  # the estimate's Spring Festival ends 02-10
    runner = CliRunner()
    dry = runner.invoke(
        main, ["calendar", "update", "--from-holidays", "--processes", str(spec_copy)]
    )
    assert dry.exit_code == 0, dry.output
    assert "2027 (provisional, would become official, holidays 9.99):" in dry.stdout
    assert "  + 2027-02-12 春节 (休)" in dry.stdout
    assert "  + 2027-02-14 调休上班 (班)" in dry.stdout
    assert "nothing was written" in dry.stdout
    assert "2026 (" not in dry.stdout  # no official year moves
    after_dry = load_calendar(spec_copy / "calendar.yaml")
    assert after_dry.version == before.version and after_dry.is_provisional(dt.date(2027, 2, 12))

    wrote = runner.invoke(
        main,
        ["calendar", "update", "--from-holidays", "--processes", str(spec_copy), "--write"],
    )
    assert wrote.exit_code == 0, wrote.output
    cal = load_calendar(spec_copy / "calendar.yaml")
    assert cal.version != before.version
    assert not cal.is_provisional(dt.date(2027, 2, 12))
    assert not cal.is_working_day(dt.date(2027, 2, 12))
    assert cal.is_working_day(dt.date(2027, 2, 14))  # a make-up Sunday
    for year in range(2010, 2027):  # every official year as it was
        assert cal.year_days(year) == shipped.year_days(year)
    text = (spec_copy / "calendar.yaml").read_text("utf-8")
    assert text.startswith("# yaml-language-server: $schema=")
    again = runner.invoke(
        main, ["calendar", "update", "--from-holidays", "--processes", str(spec_copy)]
    )
    assert "no change" in again.stdout


def test_calendar_update_without_holidays_installed_says_which_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "holidays", None)
    result = CliRunner().invoke(main, ["calendar", "update", "--from-holidays"])
    assert result.exit_code == 2
    assert "pip install 'procrules[holidays]'" in result.stderr


def test_the_estimate_in_the_table_is_what_holidays_guesses() -> None:
    from procrules.calendar_build import estimate

    holidays = pytest.importorskip("holidays")
    table = json.loads(
        (Path(__file__).parent.parent / "src/procrules/data/cn_mainland.json").read_text("utf-8")
    )
    if table["estimates"]["origin"].split()[1] != holidays.__version__:
        pytest.skip("the table was built with another holidays release")
    assert estimate(holidays, 2027) == table["estimates"]

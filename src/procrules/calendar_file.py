"""Reading and validating a calendar override file (processes/calendar.yaml).

Validated like a spec: schemas/calendar.schema.json for its shape (unknown keys with a
suggestion, wrong shapes naming the key and what is expected), then the rules a State Council
notice obeys: dates inside their year, a make-up working day is a weekend and not also a rest
day, an official year names every statutory holiday, a closure changes something, business hours
run in order. Every fault is located (file:line:col) and worded in Chinese and English; all are
reported together. Reads one file; knows nothing of cases or deadlines.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs

from .cache import load_policy_yaml
from .errors import Problem, SpecError, did_you_mean, json_path
from .source import Document, Path_

# The statutory holidays a notice lists (全国年节及纪念日放假办法), in the notice's order.
HOLIDAYS: dict[str, str] = {
    "元旦": "New Year's Day",
    "春节": "Spring Festival",
    "清明节": "Qingming Festival",
    "劳动节": "Labour Day",
    "端午节": "Dragon Boat Festival",
    "中秋节": "Mid-Autumn Festival",
    "国庆节": "National Day",
}
FIRST_YEAR, LAST_YEAR = 2010, 2099  # the years a calendar file may declare
_WEEKDAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_WEEKDAYS_ZH = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")


@dataclass(frozen=True)
class DeclaredYear:
    """An official year written in the override file, and where."""

    rest_days: dict[str, str]
    makeup_working_days: list[str]
    line: int
    source: str = ""


@dataclass(frozen=True)
class Override:
    file: str
    data: Any
    name: str | None = None
    business_hours: tuple[tuple[dt.time, dt.time], ...] | None = None
    years: dict[int, DeclaredYear] = field(default_factory=dict)
    closures: dict[dt.date, str] = field(default_factory=dict)


class _Faults:
    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.items: list[Problem] = []

    def add(
        self,
        path: Path_,
        code: str,
        en: str,
        zh: str,
        suggestion: str | None = None,
        *,
        at_key: bool = False,
    ) -> None:
        key = self.doc.keys.get(path) if at_key else None
        line, column = key or self.doc.where(path)
        self.items.append(
            Problem(
                self.doc.file, line, column, code, en, json_path(path), suggestion, message_zh=zh
            )
        )


@cache
def _schema() -> dict[str, Any]:
    from .spec.compile import shipped_schema

    return shipped_schema("calendar.schema.json")


@cache
def _validator() -> jsonschema_rs.Draft202012Validator:
    return jsonschema_rs.Draft202012Validator(_schema())


def read_override(
    path: Path, shipped: dict[int, dict[str, Any]], text: str | None = None
) -> Override:
    """The override file (or its `text`, already read), checked against itself and the shipped
    table; raises SpecError with every fault found."""
    doc = load_policy_yaml(path, text)  # parsed once, then from the parse cache
    faults = _Faults(doc)
    data = {} if doc.data is None else doc.data
    _shape(doc, data, faults)
    if faults.items:
        raise SpecError(faults.items)
    years = _years(data.get("years") or {}, faults)
    closures = _closures(data.get("closures") or [], years, shipped, faults)
    hours = _hours(data["business_hours"], faults) if "business_hours" in data else None
    if faults.items:
        raise SpecError(faults.items)
    return Override(doc.file, data, data.get("name"), hours, years, closures)


# -- shape (the JSON Schema) --------------------------------------------------------------------


def _node(schema_path: list[str | int]) -> dict[str, Any]:
    """The schema object an error's keyword sits in, following $ref into $defs."""
    root = _schema()
    node: Any = root
    for part in schema_path[:-1]:
        if part == "$ref":
            node = root["$defs"][str(node["$ref"]).rsplit("/", 1)[-1]]
            continue
        container: Any = node
        node = container[part]
    if isinstance(node, dict) and "$ref" in node and "x-expected" not in node:
        node = root["$defs"][str(node["$ref"]).rsplit("/", 1)[-1]]
    return node if isinstance(node, dict) else {}


def _real_path(data: Any, parts: list[str | int]) -> tuple[Path_, Any]:
    """The validator's instance path with the document's own keys (it reads a key such as
    '2027' as a number), and the value found there."""
    out: list[str | int] = []
    for part in parts:
        if isinstance(data, dict):
            key: str | int = part if part in data else str(part)
        else:
            key = int(part)
        out.append(key)
        data = data[key]
    return tuple(out), data


def _shown(value: Any) -> tuple[str, str]:
    if isinstance(value, dict):
        return "a mapping", "映射"
    if isinstance(value, list):
        return "a list", "列表"
    if value is None:
        return "empty", "空值"
    if isinstance(value, bool):
        return f"{str(value).lower()}", f"{str(value).lower()}"
    text = str(value)
    text = text if len(text) <= 40 else text[:37] + "..."
    return f"'{text}'", f"'{text}'"


def _name(path: Path_, lang: str = "en") -> str:
    """'rest_days', 'business_hours[0][1]', or 'the calendar file' for the whole document."""
    if not path:
        return "日历文件" if lang == "zh" else "the calendar file"
    tail = ""
    while path and isinstance(path[-1], int):
        tail = f"[{path[-1]}]" + tail
        path = path[:-1]
    return f"'{path[-1]}{tail}'" if path else f"'{tail}'"


def _shape(doc: Document, data: Any, faults: _Faults) -> None:
    renamed: set[tuple[Path_, str]] = set()  # 'rest_day' already says 'rest_days' is missing
    required: list[tuple[Path_, str]] = []
    for error in _validator().iter_errors(data):
        path, value = _real_path(data, list(error.instance_path))
        schema_path = list(error.schema_path)
        kind = type(error.kind).__name__
        node = _node(schema_path)
        expected = node.get("x-expected", {"en": "something else", "zh": "其他内容"})
        if kind == "AdditionalProperties":
            known = sorted(node.get("properties", {}))
            for key in getattr(error.kind, "unexpected", []):
                guess = did_you_mean(key, known)
                if guess:
                    renamed.add((path, guess))
                faults.add(
                    path + (key,),
                    "calendar_schema",
                    f"unknown key '{key}': the keys here are {', '.join(known)}",
                    f"未知的键 '{key}'：此处可用的键为 {'、'.join(known)}",
                    guess,
                )
        elif kind == "Required":
            required.append((path, str(getattr(error.kind, "property", "")).strip('"')))
        elif kind == "PropertyNames":
            m = re.match(r'^"((?:[^"\\]|\\.)*)"', error.message)
            key = json.loads(f'"{m.group(1)}"') if m else "?"
            faults.add(
                path + (key,),
                "calendar_schema",
                f"'{key}' is not {expected['en']}",
                f"'{key}' 不是{expected['zh']}",
            )
        elif kind == "MinItems" and value == []:
            faults.add(
                path,
                "calendar_schema",
                f"{_name(path)} must be {expected['en']}, not an empty list "
                "(leave the key out to keep the default)",
                f"{_name(path, 'zh')} 应为{expected['zh']}，不能为空列表（不写此键则用默认值）",
            )
        else:
            en_value, zh_value = _shown(value)
            faults.add(
                path,
                "calendar_schema",
                f"{_name(path)} must be {expected['en']}, not {en_value}",
                f"{_name(path, 'zh')} 应为{expected['zh']}，而不是 {zh_value}",
            )
    for path, missing in required:
        if (path, missing) not in renamed:
            faults.add(
                path,
                "calendar_schema",
                f"{_name(path)} needs the key '{missing}'",
                f"{_name(path, 'zh')} 缺少必填的键 '{missing}'",
            )


# -- the rules of a notice ---------------------------------------------------------------------


def _date(text: str, path: Path_, faults: _Faults) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        faults.add(path, "calendar_date", f"{text} is not a real date", f"{text} 不是有效日期")
        return None


def _years(section: dict[str, Any], faults: _Faults) -> dict[int, DeclaredYear]:
    out: dict[int, DeclaredYear] = {}
    for key, entry in section.items():
        year, at = int(key), ("years", key)
        before = len(faults.items)
        if not FIRST_YEAR <= year <= LAST_YEAR:
            faults.add(
                at,
                "calendar_year",
                f"{year} is outside the years a calendar can declare ({FIRST_YEAR} to {LAST_YEAR})",
                f"{year} 年超出可声明的年度范围（{FIRST_YEAR} 至 {LAST_YEAR}）",
                at_key=True,
            )
            continue
        rest: dict[str, str] = {}
        for text, label in entry["rest_days"].items():
            path = at + ("rest_days", text)
            day = _date(text, path, faults)
            if day is not None and _in_year(day, year, path, faults):
                rest[day.isoformat()] = label
        makeup: list[str] = []
        for i, text in enumerate(entry.get("makeup_working_days") or []):
            path = at + ("makeup_working_days", i)
            day = _date(text, path, faults)
            if day is None or not _in_year(day, year, path, faults):
                continue
            if day.isoformat() in rest:
                label = rest[day.isoformat()]
                faults.add(
                    path,
                    "calendar_conflict",
                    f"{day} is both a rest day ({label}) and a make-up working day: "
                    "the notice gives each day one role; keep the one it says",
                    f"{day} 既是放假日（{label}）又是调休上班日：通知中每天只有一种安排，"
                    "请按通知保留其一",
                )
            elif day.weekday() < 5:
                faults.add(
                    path,
                    "calendar_makeup_weekday",
                    f"{day} is a {_WEEKDAYS_EN[day.weekday()]}: a make-up working day (调休上班) "
                    "is a Saturday or Sunday that the notice makes a working day",
                    f"{day} 是{_WEEKDAYS_ZH[day.weekday()]}：调休上班日是通知中要求上班的"
                    "星期六或星期日，工作日本来就上班",
                )
            makeup.append(day.isoformat())
        if len(faults.items) == before:  # a misdated day would read as a missing holiday
            _complete(year, at, rest, entry.get("absent_holidays") or [], faults)
        line, _ = faults.doc.keys.get(at) or faults.doc.where(at)
        out[year] = DeclaredYear(rest, makeup, line, str(entry.get("source", "")))
    return out


def _in_year(day: dt.date, year: int, path: Path_, faults: _Faults) -> bool:
    if day.year == year:
        return True
    faults.add(
        path,
        "calendar_date_outside_year",
        f"{day} is not in {year}: write it under {day.year}",
        f"{day} 不在 {year} 年内：请写在 {day.year} 年下",
    )
    return False


def _complete(
    year: int, at: Path_, rest: dict[str, str], absent: list[str], faults: _Faults
) -> None:
    """An official year names every statutory holiday, or says which it knowingly lacks."""
    labels = " ".join(rest.values())
    missing = [h for h in HOLIDAYS if h not in labels and h not in absent]
    if not missing:
        return
    faults.add(
        at,
        "calendar_incomplete",
        f"{year} is declared official but names no rest day for "
        f"{', '.join(f'{h} ({HOLIDAYS[h]})' for h in missing)}: write every holiday of the "
        "notice, or list one it knowingly lacks under absent_holidays; a year left out stays "
        "provisional",
        f"{year} 年已写为正式年度，但没有 {'、'.join(missing)} 的放假日：请按通知写全所有节日；"
        "通知中确实没有的，写入 absent_holidays；不写该年度则仍按预估计算",
        at_key=True,
    )


def _closures(
    items: list[dict[str, Any]],
    years: dict[int, DeclaredYear],
    shipped: dict[int, dict[str, Any]],
    faults: _Faults,
) -> dict[dt.date, str]:
    out: dict[dt.date, str] = {}
    for i, item in enumerate(items):
        path: Path_ = ("closures", i, "date")
        day = _date(item["date"], path, faults)
        if day is None:
            continue
        name = str(item.get("name", "停业"))
        if not FIRST_YEAR <= day.year <= LAST_YEAR:
            faults.add(
                path,
                "calendar_year",
                f"{day} is outside the years a calendar can declare ({FIRST_YEAR} to {LAST_YEAR})",
                f"{day} 超出可声明的年度范围（{FIRST_YEAR} 至 {LAST_YEAR}）",
            )
            continue
        if day in out:
            faults.add(path, "calendar_conflict", f"{day} is closed twice", f"{day} 重复写了停业")
            continue
        declared = years.get(day.year)
        if declared is not None:
            rest, makeup = declared.rest_days, declared.makeup_working_days
        else:
            table = shipped.get(day.year, {})
            rest, makeup = table.get("rest_days", {}), table.get("makeup_working_days", [])
        iso = day.isoformat()
        if iso in rest:
            faults.add(
                path,
                "calendar_closure_on_rest_day",
                f"{day} is already a rest day ({rest[iso]}): the closure changes nothing; "
                "remove it",
                f"{day} 已是放假日（{rest[iso]}）：停业不改变任何计算，请删除",
            )
        elif iso in makeup:
            if not item.get("force"):
                faults.add(
                    path,
                    "calendar_closure_on_makeup_day",
                    f"{day} is a make-up working day (调休上班): a closure makes it a rest day "
                    "and moves every deadline that counts it; if the office really closes, "
                    "add force: true",
                    f"{day} 是调休上班日：停业会使该日不计为工作日，所有经过该日的时限都会顺延；"
                    "若确实停业，请加上 force: true",
                )
        elif day.weekday() >= 5:
            faults.add(
                path,
                "calendar_closure_on_rest_day",
                f"{day} is a {_WEEKDAYS_EN[day.weekday()]}, already a rest day: the closure "
                "changes nothing; remove it",
                f"{day} 是{_WEEKDAYS_ZH[day.weekday()]}，本来就不上班：停业不改变任何计算，请删除",
            )
        out[day] = name
    return out


def _hours(pairs: list[list[str]], faults: _Faults) -> tuple[tuple[dt.time, dt.time], ...]:
    out: list[tuple[dt.time, dt.time]] = []
    for i, (a, b) in enumerate(pairs):
        opens, closes = dt.time.fromisoformat(a), dt.time.fromisoformat(b)
        if opens >= closes:
            faults.add(
                ("business_hours", i),
                "calendar_hours",
                f"opens at {a} but closes at {b}: write the opening time first, then a later "
                "closing time",
                f"{a} 开门却 {b} 关门：请先写开门时间，再写更晚的关门时间",
            )
        elif out and opens < out[-1][1]:
            before = f"{out[-1][0]:%H:%M}-{out[-1][1]:%H:%M}"
            faults.add(
                ("business_hours", i),
                "calendar_hours",
                f"{a}-{b} overlaps or comes before {before}: list the periods from morning to "
                "evening, without overlap",
                f"{a}-{b} 与 {before} 重叠或顺序颠倒：请从早到晚列出，时段不得重叠",
            )
        out.append((opens, closes))
    return tuple(out)

"""The board: server-rendered pages for supervisors and clerks, and the alerts/silences API.

Open cases by light (green/blue/yellow/red) with filters, each case's timeline with its clocks
counted day by day, the open cards and their history, the silences, and the monthly 按时办结率
(on-time rate) with the cards raised per week as inline SVG. Chinese first, English beside it;
plain HTML and CSS (no script), readable on a phone. Reads the store; writes only silences.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import html
import json
import secrets
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import msgspec
import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from ..alerts.cases import assemble_many
from ..alerts.metrics import render_metrics
from ..alerts.policy import AlertPolicy
from ..alerts.routing import Silence, parse_matchers
from ..alerts.store import AlertStore, alert_events, alerts
from ..api import Checker, resolve_as_of, validate_case
from ..calendar import SHANGHAI
from ..errors import ProcrulesError
from ..store import schema
from ..wording import due_text, moment_text
from . import board_lights as lights
from . import types as T

LIGHTS = ("red", "yellow", "blue", "green")
LIGHT_NAMES = {
    "red": ("红牌", "Red card"),
    "yellow": ("黄牌", "Yellow card"),
    "blue": ("蓝色提醒", "Blue reminder"),
    "green": ("正常", "On track"),
}
COLOURS = {"red": "#c62828", "yellow": "#f9a825", "blue": "#1565c0", "green": "#2e7d32"}
PAGE_ROWS = 100  # open cases a page of the board shows (`size` may ask for up to 500)
ALERT_STATES = ("active", "firing", "silenced", "inhibited", "resolved")
SILENCE_HELP = "a silence needs matchers (label: value), ends_at (ISO 8601), created_by and comment"
RANK = {lv: i for i, lv in enumerate(reversed(LIGHTS))}
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
APPROVER = "approver"  # a step's role when the rules choose who approves (the catalogue's tiers)

CSS = """
body{font-family:"Noto Sans CJK SC","PingFang SC","Microsoft YaHei",sans-serif;margin:0;
 color:#1b1b1b;background:#fafafa;line-height:1.5}
header{background:#0d47a1;color:#fff;padding:.6rem 1rem}header a{color:#fff;margin-right:1rem}
header .en{color:inherit}
main{padding:.8rem 1rem;max-width:70rem;margin:auto}
.en{color:#666;font-size:.85em;margin-left:.3em}
table{border-collapse:collapse;width:100%;background:#fff}
td,th{border-bottom:1px solid #ddd;padding:.35rem .4rem;text-align:left;vertical-align:top}
.wrap{overflow-x:auto}
.light{display:inline-block;min-width:4.5em;padding:.05rem .4rem;border-radius:.3rem;color:#fff}
.red{background:#c62828}.yellow{background:#f9a825;color:#1b1b1b}.blue{background:#1565c0}
.green{background:#2e7d32}
.counts a{display:inline-block;margin:.2rem .4rem .2rem 0;padding:.4rem .6rem;border-radius:.4rem;
 text-decoration:none;color:#fff}
.counts a.yellow{color:#1b1b1b}.counts a .en,.light .en{color:inherit}
.counts a:focus,.counts a:hover{outline:2px solid #1b1b1b;outline-offset:1px}
form{margin:.6rem 0}select,button{font-size:1rem;margin:.2rem .3rem .2rem 0}
pre{white-space:pre-wrap;background:#fff;border:1px solid #ddd;padding:.6rem;font-size:.9em}
svg text{font-size:11px}
@media (max-width:40rem){td,th{font-size:.9em}.hide-s{display:none}}
"""


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _bi(zh: str, en: str) -> str:
    return f'{_e(zh)}<span class="en" lang="en">{_e(en)}</span>'


def _page(title_zh: str, title_en: str, body: str) -> HTMLResponse:
    doc = f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title_zh)} {_e(title_en)}</title><style>{CSS}</style></head>
<body><header><nav><a href="/board">{_bi("在办案件", "Open cases")}</a>
<a href="/board/silences">{_bi("静默", "Silences")}</a>
<a href="/board/report">{_bi("月度绩效", "Monthly review")}</a></nav></header>
<main><h1>{_bi(title_zh, title_en)}</h1>
{body}</main></body></html>"""
    return HTMLResponse(doc)


def _light(level: str) -> str:
    zh, en = LIGHT_NAMES.get(level, (level, level))
    return f'<span class="light {level}" data-light="{level}">{_e(zh)} {_e(en)}</span>'


@dataclass
class OpenCase:
    case_id: str
    process: str
    light: str
    roles: tuple[str, ...]
    offices: tuple[str, ...]
    next_due: dt.datetime | None
    summaries: tuple[str, ...]


class Board:
    """The board's routes over one store; `current()` gives the policy in force now."""

    def __init__(
        self,
        engine: sa.Engine,
        current: Callable[[], tuple[Checker, AlertPolicy]],
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.engine = engine
        self.alerts = AlertStore(engine)
        self.current = current
        self.clock = clock or (lambda: dt.datetime.now(SHANGHAI))

    def routes(self) -> list[Route]:
        return [
            Route("/board", self.cases_page, methods=["GET"]),
            Route("/board/cases/{case_id}", self.case_page, methods=["GET"]),
            Route("/board/silences", self.silences_page, methods=["GET"]),
            Route("/board/report", self.report_page, methods=["GET"]),
            Route("/v1/alerts", self.api_alerts, methods=["GET"]),
            Route("/v1/silences", self.api_silences, methods=["GET", "POST"]),
            Route("/v1/silences/{silence_id}", self.api_expire, methods=["DELETE"]),
            Route("/metrics/alerts", self.metrics, methods=["GET"]),
        ]

    # -- data ---------------------------------------------------------------------------------

    def open_cases(
        self, checker: Checker, policy: AlertPolicy, case_ids: list[str] | None = None
    ) -> list[OpenCase]:
        """The open cases (all, or these), each lit by its open cards and never milder than its
        projection: a committed deadline past due is at least the ladder's level for such a
        breach (red) even before the watcher has seen it; a step limit past due takes the
        ladder's level for a step breach until the watcher's card for it exists (the card then
        wins). `board_lights` computes the same light in SQL for the counts and the pages."""
        state = schema.case_state
        now = self.clock()
        rows_q = (
            sa.select(
                state.c.case_id,
                state.c.process,
                state.c.roles,
                state.c.next_due_us,
                state.c.summary,
            )
            .where(state.c.open.is_(True))
            .order_by(state.c.next_due_us, state.c.case_id)
        )
        cards_q = sa.select(
            alerts.c.case_id,
            alerts.c.rule,
            alerts.c.level,
            alerts.c.role,
            alerts.c.team,
            alerts.c.annotations,
        ).where(alerts.c.state != "resolved")
        if case_ids is not None:
            rows_q = rows_q.where(state.c.case_id.in_(case_ids))
            cards_q = cards_q.where(alerts.c.case_id.in_(case_ids))
        with self.engine.connect() as conn:
            rows = conn.execute(rows_q).all()
            cards = conn.execute(cards_q).all()
        by_case: dict[str, list[Any]] = defaultdict(list)
        approvers: dict[str, str] = {}  # the approver the rules chose, as the watcher labelled it
        approval_rules = _approval_rules(checker)
        for card in cards:
            if card.level is not None:
                by_case[card.case_id].append(card)
            if card.rule in approval_rules and card.role != APPROVER:
                approvers[card.case_id] = card.role
        owing = {
            r.case_id
            for r in rows
            if APPROVER in (r.roles or "").split(",") and r.case_id not in approvers
        }
        approvers.update(_approvers(self.engine, checker, now, owing))  # not yet watched
        out = []
        for r in rows:
            mine = by_case.get(r.case_id, [])
            carded = {c.rule for c in mine}
            levels = [c.level for c in mine]
            for clock in (r.summary or {}).get("deadlines", ()):
                level = _projected_level(clock, r.process or "", policy, now)
                if level is None:
                    continue
                step_limit = clock.get("rule") in policy.step_limits.get(r.process or "", ())
                if step_limit and clock.get("rule") in carded:
                    continue  # the watcher has judged this step limit: its card wins
                levels.append(level)
            light = max(levels, key=lambda lv: RANK.get(lv, 0), default="green")
            roles = tuple(
                approvers.get(r.case_id, x) if x == APPROVER else x
                for x in (r.roles or "").split(",")
                if x
            )
            due = None
            if r.next_due_us is not None:
                due = (EPOCH + dt.timedelta(microseconds=r.next_due_us)).astimezone(SHANGHAI)
            out.append(
                OpenCase(
                    r.case_id,
                    r.process or "",
                    light,
                    tuple(dict.fromkeys([*roles, *(c.role for c in mine)])),
                    tuple(dict.fromkeys([c.team for c in mine] or roles)),
                    due,
                    tuple(json.loads(c.annotations).get("summary_zh", "") for c in mine),
                )
            )
        return out

    # -- pages --------------------------------------------------------------------------------

    def cases_page(self, request: Request) -> Response:
        """Open cases by light, a page at a time in due order (keyset: `after` is the last row's
        due key and case id), with the counts per light and the filters computed by the
        database: the page reads its own rows, never every open case."""
        checker, policy = self.current()
        names = policy.recipient_names
        q = request.query_params
        want = {k: q.get(k, "") for k in ("light", "process", "role", "office")}
        size = _page_size(q.get("size", ""))
        after = _after(q.get("after", ""))
        now = self.clock()
        filters = lights.Filters(**want)
        with self.engine.connect() as conn:
            counts = lights.counts(conn, policy, now)
            found, total = lights.page(
                conn, policy, now, filters, after=after, size=size + 1, counted=counts
            )
            role_options, office_options = lights.options(conn)
        more = len(found) > size
        found = found[:size]
        shown = {c.case_id: c for c in self.open_cases(checker, policy, [x.case_id for x in found])}
        kept = {k: v for k, v in want.items() if v}
        if size != PAGE_ROWS:
            kept["size"] = str(size)
        links = []
        for light in LIGHTS:
            query = urlencode({**{k: v for k, v in want.items() if v}, "light": light})
            links.append(
                f'<a class="{light}" href="/board?{_e(query)}" data-count="{light}">'
                f"{_light_name(light)} <b>{counts.get(light, 0)}</b></a>"
            )
        processes = checker.specs.processes

        def select(name: str, zh: str, en: str, options: list[tuple[str, str]]) -> str:
            opts = "".join(
                f'<option value="{_e(v)}"{" selected" if want[name] == v else ""}>{_e(t)}</option>'
                for v, t in [("", "全部 All"), *options]
            )
            return f'<label>{_bi(zh, en)} <select name="{name}">{opts}</select></label>'

        form = (
            '<form method="get" action="/board">'
            + select("light", "灯色", "Light", [(lt, _plain_light(lt)) for lt in LIGHTS])
            + select(
                "process",
                "业务",
                "Process",
                [
                    (p, f"{processes[p].label.zh} {processes[p].label.en}")
                    for p in sorted(processes)
                ],
            )
            + select("role", "岗位", "Role", [(r, _name(names, r)) for r in sorted(role_options)])
            + select(
                "office", "科室", "Office", [(o, _name(names, o)) for o in sorted(office_options)]
            )
            + (f'<input type="hidden" name="size" value="{size}">' if "size" in kept else "")
            + f'<button type="submit">{_bi("筛选", "Filter")}</button></form>'
        )
        rows = []
        for lit in found:
            c = shown.get(lit.case_id)
            if c is None:  # closed between the two reads
                continue
            p = processes.get(c.process)
            due = (
                _bi(due_text(c.next_due, "zh", now), due_text(c.next_due, "en", now))
                if c.next_due
                else ""
            )
            rows.append(
                f'<tr data-case="{_e(c.case_id)}" data-light="{lit.light}">'
                f"<td>{_light(lit.light)}</td>"
                f'<td><a href="/board/cases/{_e(c.case_id)}">{_e(c.case_id)}</a></td>'
                f"<td>{_bi(p.label.zh, p.label.en) if p else _e(c.process)}</td>"
                f"<td>{', '.join(_e(_name(names, r)) for r in c.roles)}</td>"
                f'<td class="hide-s" data-due>{due}</td>'
                f'<td class="hide-s">{"<br>".join(_e(s) for s in c.summaries)}</td></tr>'
            )
        table = (
            '<div class="wrap"><table><thead><tr>'
            f"<th>{_bi('灯色', 'Light')}</th><th>{_bi('案件', 'Case')}</th>"
            f"<th>{_bi('业务', 'Process')}</th><th>{_bi('岗位', 'Role')}</th>"
            f'<th class="hide-s">{_bi("最近期限", "Next due")}</th>'
            f'<th class="hide-s">{_bi("督办", "Cards")}</th></tr></thead><tbody>'
            + "".join(rows)
            + "</tbody></table></div>"
        )
        if not found:
            table = f'<p id="empty">{_bi("没有符合条件的在办案件", "No open case matches")}</p>'
        nav = []
        if after is not None:
            first = urlencode(kept)
            nav.append(
                f'<a id="first-page" href="/board{"?" + _e(first) if first else ""}">'
                f"{_bi('第一页', 'First page')}</a>"
            )
        if more:
            last = found[-1]
            following = urlencode({**kept, "after": f"{last.due_key}:{last.case_id}"})
            nav.append(
                f'<a id="next-page" href="/board?{_e(following)}">{_bi("下一页", "Next page")}</a>'
            )
        body = (
            f'<p class="counts">{"".join(links)}</p>{form}'
            f'<p id="shown" data-total="{total}">{_bi(f"共 {total} 件", f"{total} cases")}</p>'
            f"{table}" + (f'<p class="pages">{" · ".join(nav)}</p>' if nav else "")
        )
        return _page("在办案件", "Open cases", body)

    def case_page(self, request: Request) -> Response:
        from ..explain import explain as explain_text
        from ..report import render_text

        checker, policy = self.current()
        case_id = request.path_params["case_id"]
        found = list(assemble_many(self.engine, [case_id]))
        if not found:
            return _page("未找到", "Not found", f"<p>{_e(case_id)}</p>")
        now = self.clock()
        texts = {}
        try:
            for lang in ("zh", "en"):
                judgement = checker.engine.judge(validate_case(found[0], case_id), now, case_id)
                report = judgement.run()
                texts[lang] = (
                    render_text(report, lang, lambda s, **_: s)
                    + "\n\n"
                    + explain_text(judgement, report, lang)
                )
        except ProcrulesError as exc:
            texts = {"zh": exc.render("zh"), "en": exc.render("en")}
        cards = self.alerts.query_alerts(case_id=case_id)
        history = self.alerts.history(case_id)
        card_rows = "".join(
            f'<tr data-card="{_e(c["rule"])}"><td>{_light(c["level"] or "green")}</td>'
            f"<td>{_e(c['state'])}</td><td>{_e(c['annotations'].get('summary_zh'))}"
            f'<br><span class="en">{_e(c["annotations"].get("summary_en"))}</span></td></tr>'
            for c in cards
        )
        history_rows = "".join(
            f"<tr><td>{_bi(_local(h['at'], 'zh', now), _local(h['at'], 'en', now))}</td>"
            f"<td>{_e(h['kind'])}</td>"
            f"<td>{_e(h['level'])}</td><td>{_e(h['detail'])}</td></tr>"
            for h in history
        )
        labels = {"case_id": case_id}
        silences = [
            s
            for s in self.alerts.silences(now, active=True)
            if any(k == "case_id" and case_id in v for k, v in s.matchers.items)
            or s.matchers.matches({**labels})
        ]
        body = (
            f"<h2>{_bi('时限与逐日计算', 'Deadlines, day by day')}</h2>"
            f'<pre id="timeline" lang="zh">{_e(texts["zh"])}</pre>'
            f'<details><summary>English</summary><pre lang="en">{_e(texts["en"])}</pre></details>'
            f"<h2>{_bi('督办记录', 'Cards')}</h2>"
            f'<div class="wrap"><table id="cards">{card_rows}</table></div>'
            f"<h2>{_bi('变化记录', 'History')}</h2>"
            f'<div class="wrap"><table id="history">{history_rows}</table></div>'
            f"<h2>{_bi('静默', 'Silences')}</h2>"
            + (_silence_table(silences, now) if silences else f"<p>{_bi('无', 'None')}</p>")
        )
        return _page(f"案件 {case_id}", f"Case {case_id}", body)

    def silences_page(self, request: Request) -> Response:
        now = self.clock()
        rows = self.alerts.silences()
        active = [s for s in rows if s.active(now)]
        other = [s for s in rows if not s.active(now)]
        body = (
            f"<h2>{_bi('生效中', 'Active')}</h2>"
            + (_silence_table(active, now) if active else f"<p>{_bi('无', 'None')}</p>")
            + f"<h2>{_bi('已结束或未开始', 'Ended or not yet started')}</h2>"
            + (_silence_table(other, now) if other else f"<p>{_bi('无', 'None')}</p>")
        )
        return _page("静默", "Silences", body)

    def report_page(self, request: Request) -> Response:
        checker, policy = self.current()
        now = self.clock()
        month = request.query_params.get("month") or now.strftime("%Y-%m")
        try:
            year, mon = (int(x) for x in month.split("-"))
            first = dt.date(year, mon, 1)
        except ValueError:
            return _page("月度绩效", "Monthly review", f"<p>{_e(month)}?</p>")
        rates = on_time_rates(self.engine, checker, policy, now, first)
        weeks = cards_per_week(self.engine, first)
        parts = [
            f'<form method="get"><label>{_bi("月份", "Month")} '
            f'<input name="month" value="{_e(month)}" size="8"></label>'
            f"<button>{_bi('查看', 'Show')}</button></form>"
        ]
        processes = checker.specs.processes

        def label(k: str, key: str) -> str:
            if key == "process":
                return processes[k].label.zh if k in processes else k
            found = policy.recipient_names.get(k)
            return found.zh if found else k

        for key, zh, en in (
            ("process", "按业务", "By process"),
            ("office", "按科室", "By office"),
            ("role", "按岗位", "By role"),
        ):
            data = rates[key]
            parts.append(
                f"<h2>{_bi('按时办结率 ' + zh, 'On-time rate ' + en.lower())}</h2>"
                + _bars(f"rate-{key}", [(label(k, key), on, total) for k, (on, total) in data])
            )
        parts.append(f"<h2>{_bi('每周亮牌数', 'Cards raised per week')}</h2>" + _week_chart(weeks))
        return _page(f"月度绩效 {month}", f"Monthly review {month}", "".join(parts))

    # -- API ----------------------------------------------------------------------------------

    def api_alerts(self, request: Request) -> Response:
        state = request.query_params.get("state", "active")
        if state not in ALERT_STATES:
            return _api_error(
                422,
                "invalid_request",
                f"state must be one of {', '.join(ALERT_STATES)}",
                [T.Problem("bad_query", f"unknown state '{state}'", "?state")],
            )
        case_id = request.query_params.get("case_id")
        rows = self.alerts.query_alerts(state=state, case_id=case_id)
        return _msg(
            T.AlertList(
                [msgspec.convert({str(k): v for k, v in r.items()}, T.AlertCard) for r in rows]
            )
        )

    async def api_silences(self, request: Request) -> Response:
        if request.method == "GET":
            return _msg(T.SilenceList([_silence_out(s) for s in self.alerts.silences()]))
        now = self.clock()
        try:
            body = msgspec.json.decode(await request.body(), type=T.SilenceRequest)
            items = [
                f"{k}={'|'.join(v) if isinstance(v, list) else v}" for k, v in body.matchers.items()
            ]
            starts = resolve_as_of(body.starts_at) if body.starts_at else now
            silence = Silence(
                secrets.token_hex(6),
                parse_matchers(items),
                starts,
                resolve_as_of(body.ends_at),
                body.created_by,
                body.comment,
            )
            if silence.ends_at <= silence.starts_at:
                raise ValueError("the silence ends before it starts")
        except msgspec.ValidationError as exc:
            # msgspec says e.g. "Object missing required field `ends_at`" or "... - at `$.x`"
            text = str(exc)
            where = text.rsplit(" - at `", 1)[1].rstrip("`") if " - at `" in text else "$"
            missing = text.split("`")[1] if "missing required field" in text else None
            path = f"$.{missing}" if missing else where
            problem = T.Problem("silence_schema", text, path)
            return _api_error(422, "bad_silence", SILENCE_HELP, [problem])
        except msgspec.DecodeError as exc:
            problem = T.Problem("json_syntax", str(exc), "$")
            return _api_error(422, "bad_silence", SILENCE_HELP, [problem])
        except (ValueError, OverflowError, ProcrulesError) as exc:
            text = exc.render("en") if isinstance(exc, ProcrulesError) else str(exc)
            return _api_error(422, "bad_silence", SILENCE_HELP, [T.Problem("bad_silence", text)])
        self.alerts.add_silence(silence, now)
        return _msg(_silence_out(silence), 201)

    def api_expire(self, request: Request) -> Response:
        if not self.alerts.expire_silence(request.path_params["silence_id"], self.clock()):
            return _api_error(404, "not_found", "no such silence, or it has ended")
        return Response(status_code=204)

    def metrics(self, request: Request) -> Response:
        return Response(render_metrics(self.alerts), media_type="text/plain; version=0.0.4")


# -- the monthly review --------------------------------------------------------------------------


def on_time_rates(
    engine: sa.Engine, checker: Checker, policy: AlertPolicy, now: dt.datetime, first: dt.date
) -> dict[str, list[tuple[str, tuple[int, int]]]]:
    """按时办结率 of the deadlines due in the month of `first`: met in time over those met,
    met late or breached, per process, office and role. Read from the cases' projections (one
    query, no case judged again): a clock still running there whose due time has passed by `now`
    counts as breached. The office is the role's (a case's `facts.office` is not projected)."""
    from ..alerts.ladder import step_of

    end = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    tallies: dict[str, dict[str, list[int]]] = {
        k: defaultdict(lambda: [0, 0]) for k in ("process", "office", "role")
    }
    processes = checker.specs.processes
    state = schema.case_state
    counted: list[tuple[str, str, str, int]] = []  # (case id, process, role, 1 if in time)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(state.c.case_id, state.c.process, state.c.summary).where(
                state.c.process.is_not(None)
            )
        )
        for case_id, process_id, summary in rows:
            process = processes.get(process_id)
            steps = step_of(process) if process is not None else {}
            for clock in (summary or {}).get("deadlines", ()):
                due = dt.datetime.fromisoformat(clock["due"]) if clock.get("due") else None
                if due is None or not first <= due.astimezone(SHANGHAI).date() < end:
                    continue
                status = clock["status"]
                if status in ("running", "at_risk") and due < now:
                    status = "breached"
                if status not in ("met", "late", "breached"):
                    continue
                role = steps.get(clock.get("id", ""), ("", "", None))[1]
                counted.append((case_id, process_id, role, 1 if status == "met" else 0))
    approvers = _approvers(engine, checker, now, {c for c, _, r, _ in counted if r == "approver"})
    for case_id, process_id, role, on in counted:
        if role == "approver":  # the approval step's role: whom the rules chose for this case
            role = approvers.get(case_id, role)
        for key, value in (("process", process_id), ("office", role), ("role", role)):
            tallies[key][value][0] += on
            tallies[key][value][1] += 1
    return {k: sorted((n, (v[0], v[1])) for n, v in t.items()) for k, t in tallies.items()}


def _approval_rules(checker: Checker) -> set[str]:
    """The rules of the deadlines stopped by a step whose role the rules decide (`approver`)."""
    from ..alerts.ladder import step_of

    out: set[str] = set()
    for process in checker.specs.processes.values():
        steps = step_of(process)
        out.update(d.rule for d in process.deadlines if steps[d.id][1] == APPROVER)
    return out


def _approvers(
    engine: sa.Engine, checker: Checker, now: dt.datetime, case_ids: set[str]
) -> dict[str, str]:
    """The approver the rules chose, for the few cases whose approval step is counted."""
    out: dict[str, str] = {}
    ids = sorted(case_ids)
    for i in range(0, len(ids), 1000):
        for case in assemble_many(engine, ids[i : i + 1000]):
            try:
                report = checker.engine.check(validate_case(case, "<store>"), now, "<store>")
            except ProcrulesError:
                continue
            if report.approvals:
                out[str(case["case_id"])] = report.approvals[-1].approver
    return out


def cards_per_week(engine: sa.Engine, first: dt.date) -> list[tuple[str, dict[str, int]]]:
    """Cards raised or escalated per ISO week, by level, over the eight weeks to the month's end."""
    end = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    start = end - dt.timedelta(weeks=8)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(alert_events.c.at, alert_events.c.level).where(
                alert_events.c.kind.in_(("raised", "escalated")),
            )
        ).all()
    weeks: dict[str, Counter[str]] = {}
    day = start
    while day < end:
        year, week, _ = day.isocalendar()
        weeks.setdefault(f"{year}-W{week:02d}", Counter())
        day += dt.timedelta(days=7)
    for at, level in rows:
        local = dt.datetime.fromisoformat(at).astimezone(SHANGHAI).date()
        if start <= local < end:
            year, week, _ = local.isocalendar()
            weeks.setdefault(f"{year}-W{week:02d}", Counter())[level or ""] += 1
    return [(k, dict(v)) for k, v in sorted(weeks.items())]


def _bars(chart_id: str, data: list[tuple[str, int, int]]) -> str:
    if not data:
        return (
            f'<p id="{chart_id}">{_bi("本月没有到期的时限", "No deadline fell due this month")}</p>'
        )
    row_h, width, label_w = 26, 520, 150
    height = row_h * len(data) + 10
    bars = []
    for i, (label, on, total) in enumerate(data):
        rate = on / total if total else 0.0
        y = 5 + i * row_h
        w = int((width - label_w - 90) * rate)
        colour = (
            COLOURS["green"]
            if rate >= 0.9
            else COLOURS["yellow"]
            if rate >= 0.7
            else COLOURS["red"]
        )
        bars.append(
            f'<g data-label="{_e(label)}" data-rate="{rate:.3f}">'
            f'<text x="0" y="{y + 16}">{_e(label)}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{w}" height="{row_h - 8}" fill="{colour}"/>'
            f'<text x="{label_w + w + 6}" y="{y + 16}">{rate:.0%} ({on}/{total})</text></g>'
        )
    return (
        f'<div class="wrap"><svg id="{chart_id}" role="img" viewBox="0 0 {width} {height}" '
        f'width="100%" style="max-width:{width}px">{"".join(bars)}</svg></div>'
    )


def _week_chart(weeks: list[tuple[str, dict[str, int]]]) -> str:
    width, height, bar_w = 520, 180, 40
    peak = max((sum(v.values()) for _, v in weeks), default=0) or 1
    parts = []
    for i, (week, counts) in enumerate(weeks):
        x = 10 + i * (bar_w + 20)
        y = height - 30
        for level in ("blue", "yellow", "red"):
            n = counts.get(level, 0)
            h = int((height - 50) * n / peak)
            if h:
                y -= h
                parts.append(
                    f'<rect x="{x}" y="{y}" width="{bar_w}" height="{h}" '
                    f'fill="{COLOURS[level]}" data-level="{level}" data-n="{n}"/>'
                )
        total = sum(counts.values())
        parts.append(
            f'<text x="{x}" y="{height - 15}">{_e(week[5:])}</text>'
            f'<text x="{x}" y="{y - 4}">{total}</text>'
        )
    return (
        f'<div class="wrap"><svg id="cards-per-week" role="img" viewBox="0 0 {width} {height}"'
        f' width="100%" style="max-width:{width}px">{"".join(parts)}</svg></div>'
    )


def _projected_level(
    clock: dict[str, Any], process: str, policy: AlertPolicy, now: dt.datetime
) -> str | None:
    """The level the ladder gives a projected deadline that is past due (a running clock whose
    due time has passed by `now` counts as breached), else None: the rest is the watcher's."""
    status = clock.get("status")
    due = dt.datetime.fromisoformat(clock["due"]) if clock.get("due") else None
    if not (status == "breached" or (status in ("running", "at_risk") and due and due < now)):
        return None
    kind = "step" if clock.get("rule") in policy.step_limits.get(process, ()) else "committed"
    found = next((lv.level for lv in policy.levels if lv.when.breached in ("any", kind)), None)
    if kind == "step":
        return found
    return max((found or "red", "red"), key=lambda lv: RANK.get(lv, 0))


# -- small pieces ----------------------------------------------------------------------------------


def _page_size(text: str) -> int:
    return min(max(int(text), 1), 500) if text.isdigit() else PAGE_ROWS


def _after(text: str) -> tuple[int, str] | None:
    """`after=<due key>:<case id>`: where the previous page ended (anything else: the start)."""
    due, sep, case_id = text.partition(":")
    if not sep or not due.isdigit() or not case_id:
        return None
    return int(due), case_id


def _light_name(light: str) -> str:
    zh, en = LIGHT_NAMES[light]
    return _bi(zh, en)


def _plain_light(light: str) -> str:
    zh, en = LIGHT_NAMES[light]
    return f"{zh} {en}"


def _name(names: dict[str, Any], key: str) -> str:
    label = names.get(key)
    if label:
        return f"{label.zh} {label.en}"
    if key == APPROVER:  # the rules could not say who approves (the case does not judge now)
        return "审批人（按规则确定） Approver (as the rules decide)"
    return key


def _local(text: str, lang: str, reference: dt.datetime) -> str:
    return moment_text(dt.datetime.fromisoformat(text), lang, reference)


def _silence_out(s: Silence) -> T.SilenceOut:
    return T.SilenceOut(
        s.id,
        {k: sorted(v) for k, v in s.matchers.items},
        s.starts_at.isoformat(),
        s.ends_at.isoformat(),
        s.created_by,
        s.comment,
    )


def _msg(body: Any, status: int = 200) -> Response:
    return Response(msgspec.json.encode(body), status, media_type="application/json")


def _api_error(
    status: int, code: str, message: str, problems: list[T.Problem] | None = None
) -> Response:
    """The service's one error shape (ErrorResponse), also when the board runs on its own."""
    return _msg(T.ErrorResponse(T.ErrorBody(status, code, message, problems or [])), status)


def _silence_table(rows: list[Silence], now: dt.datetime) -> str:
    body = "".join(
        f'<tr data-silence="{_e(s.id)}"><td>{_e(s.id)}</td>'
        f"<td>{_e(' '.join(f'{k}={chr(124).join(sorted(v))}' for k, v in s.matchers.items))}</td>"
        f"<td>{_e(moment_text(s.starts_at, 'zh', now))}至{_e(moment_text(s.ends_at, 'zh', now))}"
        f'<span class="en" lang="en">{_e(moment_text(s.starts_at, "en", now))} – '
        f"{_e(moment_text(s.ends_at, 'en', now))}</span></td>"
        f"<td>{_e(s.created_by)}</td><td>{_e(s.comment)}</td></tr>"
        for s in rows
    )
    head = (
        f"<tr><th>ID</th><th>{_bi('匹配', 'Matchers')}</th><th>{_bi('时段', 'When')}</th>"
        f"<th>{_bi('设置人', 'By')}</th><th>{_bi('原因', 'Why')}</th></tr>"
    )
    return f'<div class="wrap"><table class="silences">{head}{body}</table></div>'


def board_app(
    store_target: str,
    checker: Checker,
    policy: AlertPolicy,
    clock: Callable[[], dt.datetime] | None = None,
) -> Any:
    """The board alone, as its own ASGI app (the service mounts `Board.routes()` instead)."""
    from starlette.applications import Starlette

    from ..store import open_store

    engine = open_store(store_target).engine

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        yield
        engine.dispose()

    board = Board(engine, lambda: (checker, policy), clock)
    return Starlette(routes=board.routes(), lifespan=lifespan)

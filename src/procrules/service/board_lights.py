"""The board's lights in SQL: each open case's light, the counts per light, the filters and a page
of cases in due order (keyset), computed by the database so that the board never reads every
open row. The same rule as `Board.open_cases` (which the page uses for the rows it shows):

    light = the most urgent of the case's open cards (firing, silenced or muted) and of the
            ladder's level for each projected deadline past due: red for a committed limit,
            the ladder's step-breach level for a step limit unless a card for it exists.

Reads only; SQLite (json_each, julianday) and PostgreSQL (jsonb_array_elements, timestamptz).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ..alerts.policy import AlertPolicy

RANKS = {"green": 0, "blue": 1, "yellow": 2, "red": 3}
LIGHT_OF = {r: lv for lv, r in RANKS.items()}
LAST_DUE = 2**62  # a case without a due time sorts last, on both databases
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Filters:
    light: str = ""
    process: str = ""
    role: str = ""
    office: str = ""


@dataclass(frozen=True)
class Lit:
    case_id: str
    due_key: int
    light: str


def _deadlines(dialect: str) -> tuple[str, str, str, str]:
    """The projection's deadlines of case `cs` as rows `d`, and SQL for a row's rule, status and
    whether its due time is before :now."""
    if dialect == "postgresql":
        return (
            "jsonb_array_elements(CASE WHEN jsonb_typeof(cs.summary->'deadlines') = 'array'"
            " THEN cs.summary->'deadlines' ELSE '[]'::jsonb END) AS d",
            "d->>'rule'",
            "d->>'status'",
            "(d->>'due' IS NOT NULL AND (d->>'due')::timestamptz < CAST(:now AS timestamptz))",
        )
    return (
        "json_each(CASE WHEN json_type(cs.summary, '$.deadlines') = 'array'"
        " THEN cs.summary ELSE '{\"deadlines\": []}' END, '$.deadlines') AS d",
        "json_extract(d.value, '$.rule')",
        "json_extract(d.value, '$.status')",
        "(json_extract(d.value, '$.due') IS NOT NULL"
        " AND julianday(json_extract(d.value, '$.due')) < julianday(:now))",
    )


def _lit_sql(dialect: str, policy: AlertPolicy, params: dict[str, Any]) -> str:
    """A query `lit` of (case_id, process, roles, due_key, rank) for every open case. Each
    case's rank is read through indexes: its open cards by case id, and its projected deadlines
    only when one may be past due (a breached status, or the earliest due time before now)."""
    rows, rule, status, past_due = _deadlines(dialect)
    steps = []
    for i, (process, rules) in enumerate(sorted(policy.step_limits.items())):
        if not rules:
            continue
        names = []
        for j, name in enumerate(sorted(rules)):
            params[f"sr{i}_{j}"] = name
            names.append(f":sr{i}_{j}")
        params[f"sp{i}"] = process
        steps.append(f"(cs.process = :sp{i} AND {rule} IN ({', '.join(names)}))")
    is_step = " OR ".join(steps) or "1 = 0"
    step_level = next(
        (lv.level for lv in policy.levels if lv.when.breached in ("any", "step")), None
    )
    committed = next(
        (lv.level for lv in policy.levels if lv.when.breached in ("any", "committed")), "red"
    )
    params["step_rank"] = RANKS.get(step_level or "", 0)
    params["committed_rank"] = max(RANKS.get(committed, 0), RANKS["red"])
    params["max_due"] = LAST_DUE
    params["now_us"] = int((_parse(params["now"]) - EPOCH).total_seconds() * 1_000_000)
    open_case = "cs.open" if dialect == "postgresql" else "cs.open = 1"
    card = "a.state <> 'resolved' AND a.level IS NOT NULL"
    return f"""
WITH cards AS (
  SELECT a.case_id AS case_id, a.rule AS rule, a.role AS role, a.team AS team
  FROM alerts a WHERE {card}
),
ranked AS (
  SELECT cs.case_id AS case_id, cs.process AS process, cs.roles AS roles,
         COALESCE(cs.next_due_us, :max_due) AS due_key,
         COALESCE((SELECT MAX(CASE a.level WHEN 'red' THEN 3 WHEN 'yellow' THEN 2
                                           WHEN 'blue' THEN 1 ELSE 0 END)
                   FROM alerts a WHERE a.case_id = cs.case_id AND {card}), 0) AS card_rank,
         CASE WHEN cs.status = 'breached' OR cs.next_due_us < :now_us THEN COALESCE((
           SELECT MAX(CASE WHEN NOT ({is_step}) THEN :committed_rank
                           WHEN EXISTS (SELECT 1 FROM alerts a WHERE a.case_id = cs.case_id
                                        AND a.rule = {rule} AND {card}) THEN 0
                           ELSE :step_rank END)
           FROM {rows}
           WHERE {status} = 'breached' OR ({status} IN ('running', 'at_risk') AND {past_due})
         ), 0) ELSE 0 END AS projected_rank
  FROM case_state cs
  WHERE {open_case}
),
lit AS (
  SELECT case_id, process, roles, due_key,
         CASE WHEN card_rank >= projected_rank THEN card_rank ELSE projected_rank END AS rank
  FROM ranked
)"""


def _parse(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def _like(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%,{escaped},%"


def _where(filters: Filters, params: dict[str, Any]) -> str:
    parts = []
    if filters.light in RANKS:
        params["f_rank"] = RANKS[filters.light]
        parts.append("l.rank = :f_rank")
    if filters.process:
        params["f_process"] = filters.process
        parts.append("l.process = :f_process")
    if filters.role:  # a role owing the next step, or the role of one of its cards
        params["f_role"], params["f_role_like"] = filters.role, _like(filters.role)
        parts.append(
            "(l.roles LIKE :f_role_like ESCAPE '\\' OR EXISTS (SELECT 1 FROM cards c"
            " WHERE c.case_id = l.case_id AND c.role = :f_role))"
        )
    if filters.office:  # the team of one of its cards; without cards, a role owing a step
        params["f_office"], params["f_office_like"] = filters.office, _like(filters.office)
        parts.append(
            "(EXISTS (SELECT 1 FROM cards c WHERE c.case_id = l.case_id AND c.team = :f_office)"
            " OR (NOT EXISTS (SELECT 1 FROM cards c WHERE c.case_id = l.case_id)"
            " AND l.roles LIKE :f_office_like ESCAPE '\\'))"
        )
    return " AND ".join(parts) or "1 = 1"


def _now(now: dt.datetime) -> str:
    return now.astimezone(dt.UTC).isoformat(timespec="seconds")


def counts(conn: sa.Connection, policy: AlertPolicy, now: dt.datetime) -> dict[str, int]:
    """Open cases per light (every open case, whatever the filters)."""
    params: dict[str, Any] = {"now": _now(now)}
    sql = _lit_sql(conn.dialect.name, policy, params)
    rows = conn.execute(
        sa.text(sql + " SELECT rank, COUNT(*) AS n FROM lit GROUP BY rank"), params
    ).all()
    return {LIGHT_OF.get(int(r.rank), "green"): int(r.n) for r in rows}


def page(
    conn: sa.Connection,
    policy: AlertPolicy,
    now: dt.datetime,
    filters: Filters,
    *,
    after: tuple[int, str] | None,
    size: int,
    counted: dict[str, int] | None = None,
) -> tuple[list[Lit], int]:
    """The first `size` cases after `after` (due key, case id) that pass the filters, in due
    order, and how many pass them in all (from `counted`, the counts per light, when the light
    is the only filter: one reading of every open case less)."""
    params: dict[str, Any] = {"now": _now(now)}
    sql = _lit_sql(conn.dialect.name, policy, params)
    where = _where(filters, params)
    if counted is not None and not (filters.process or filters.role or filters.office):
        total = counted.get(filters.light, 0) if filters.light else sum(counted.values())
    else:
        total = conn.execute(
            sa.text(sql + f" SELECT COUNT(*) FROM lit l WHERE {where}"), params
        ).scalar_one()
    keyset = ""
    if after is not None:
        params["k_due"], params["k_id"] = after
        keyset = " AND (l.due_key > :k_due OR (l.due_key = :k_due AND l.case_id > :k_id))"
    params["size"] = size
    rows = conn.execute(
        sa.text(
            sql + f" SELECT l.case_id, l.due_key, l.rank FROM lit l WHERE {where}{keyset}"
            " ORDER BY l.due_key, l.case_id LIMIT :size"
        ),
        params,
    ).all()
    lit = [Lit(r.case_id, int(r.due_key), LIGHT_OF.get(int(r.rank), "green")) for r in rows]
    return lit, int(total)


def options(conn: sa.Connection) -> tuple[set[str], set[str]]:
    """The roles and offices the filters offer: roles owing a step of an open case and the
    roles and teams of the open cards (distinct values, read by the database)."""
    roles: set[str] = set()
    offices: set[str] = set()
    open_case = "open" if conn.dialect.name == "postgresql" else "open = 1"
    for text in conn.execute(sa.text(f"SELECT DISTINCT roles FROM case_state WHERE {open_case}")):
        found = {x for x in (text[0] or "").split(",") if x}
        roles |= found
        offices |= found
    for role, team in conn.execute(
        sa.text(
            "SELECT DISTINCT role, team FROM alerts WHERE state <> 'resolved' AND level IS NOT NULL"
        )
    ):
        roles.add(role)
        offices.add(team)
    return roles, offices

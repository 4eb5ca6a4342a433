"""The public service guide (办事指南) of a process, generated from its spec, in Markdown or as
one self-contained printable HTML page. What the customer is told comes from the same YAML that
the engine enforces. Formats only.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from .diagram import only_when, step_conditions
from .report import duration_text
from .spec.compile import SpecSet
from .spec.model import Deadline, Process
from .wording import Words, condition_text, day_text

_T = {
    "guide": {"zh": "办事指南", "en": "Service guide"},
    "who": {"zh": "申请对象", "en": "Who may apply"},
    "documents": {"zh": "申请材料", "en": "Documents to bring"},
    "conditions": {"zh": "办理条件", "en": "Conditions"},
    "steps": {"zh": "办理流程及时限", "en": "Steps and time limits"},
    "fees": {"zh": "收费及押金", "en": "Fees and deposits"},
    "approvals": {"zh": "审批", "en": "Who approves"},
    "step": {"zh": "环节", "en": "Step"},
    "by": {"zh": "承办", "en": "By"},
    "limit": {"zh": "时限", "en": "Time limit"},
    "rule": {"zh": "依据", "en": "Rule"},
    "item": {"zh": "项目", "en": "Item"},
    "how": {"zh": "计算方法", "en": "How it is worked out"},
    "when": {"zh": "适用情形", "en": "When"},
    "approver": {"zh": "审批人", "en": "Approver"},
    "all": {"zh": "所有情形", "en": "always"},
    "or": {"zh": "或", "en": " or "},
    "only_if": {"zh": "仅限", "en": "only"},
    "approver_role": {"zh": "审批人", "en": "the approver"},
    "from": {"zh": "自“{e}”起", "en": "from '{e}'"},
    "since": {"zh": "自{d}起施行", "en": "in force from {d}"},
    "calendar_note": {
        "zh": "工作日按国务院公布的节假日安排计算（含调休上班日）。",
        "en": "Working days follow the State Council holiday schedule, make-up days included.",
    },
}


def _t(key: str, lang: str, **kw: object) -> str:
    return _T[key][lang].format(**kw)


@dataclass(frozen=True)
class Section:
    heading: str
    rows: list[list[str]]  # a table, header row first; or paragraphs, one cell each
    table: bool = True


def sections(process: Process, specs: SpecSet, lang: str) -> list[Section]:
    """The guide's sections, in the order a counter reads them."""
    cat = specs.catalog
    rules = cat.rules
    words = Words(process, specs)
    out: list[Section] = []
    types = sorted({t for req in process.documents for t in req.customer_types}) or list(
        cat.customer_types
    )
    sep = "、" if lang == "zh" else ", "
    who = sep.join(cat.customer_types[t].get(lang) for t in types)
    out.append(Section(_t("who", lang), [[who]], table=False))
    docs: list[list[str]] = [[_t("item", lang), _t("when", lang), _t("rule", lang)]]
    for ctype in types:
        for req in process.documents:
            if ctype not in req.customer_types:
                continue
            cond = cat.customer_types[ctype].get(lang)
            if req.when is not None:
                why = req.note.get(lang) if req.note else condition_text(req.when, lang, words)
                cond += f"（{_t('only_if', lang)}{why}）" if lang == "zh" else f" ({why})"
            for alternatives in req.items:
                name = _t("or", lang).join(cat.documents[a].get(lang) for a in alternatives)
                docs.append([name, cond, req.rule])
    if len(docs) > 1:
        out.append(Section(_t("documents", lang), docs))
    conditions = [f"{rules[g.rule].get(lang)} [{g.rule}]" for g in process.gates]
    if conditions:
        out.append(Section(_t("conditions", lang), [[c] for c in conditions], table=False))
    stops: dict[str, list[Deadline]] = {}
    for d in process.deadlines:
        for event in d.stop:
            stops.setdefault(event, []).append(d)
    steps: list[list[str]] = [
        [_t("step", lang), _t("by", lang), _t("limit", lang), _t("rule", lang)]
    ]
    conditional = step_conditions(process)
    for step in process.steps:
        by = sep.join(_role(specs, r, lang) for r in step.roles)
        name = step.label.get(lang)
        if step.id in conditional:  # a step that happens only in some cases says which
            name += only_when(condition_text(conditional[step.id], lang, words), lang)
        comma = "，" if lang == "zh" else ", "
        limits = [
            duration_text(d.duration, lang)
            + comma
            + _t("from", lang, e=process.events[d.start[0]].get(lang))
            for d in stops.get(step.event, [])
        ]
        cited = sorted({r for r in [step.rule, *(d.rule for d in stops.get(step.event, []))] if r})
        steps.append(
            [
                name,
                by,
                "；".join(limits) if lang == "zh" else "; ".join(limits),
                " ".join(cited),
            ]
        )
    out.append(Section(_t("steps", lang), steps))
    if process.amounts:
        fees: list[list[str]] = [
            [_t("item", lang), _t("when", lang), _t("how", lang), _t("rule", lang)]
        ]
        for amount in process.amounts:
            how = (
                amount.explain.get(lang)
                if amount.explain
                else condition_text(amount.formula, lang, words)
            )
            # NC-DEPOSIT: the deposit is owed only by large-volume individuals; say so
            when = (
                _t("all", lang) if amount.when is None else condition_text(amount.when, lang, words)
            )
            fees.append([amount.label.get(lang), when, how, amount.rule])
        out.append(Section(_t("fees", lang), fees))
    if process.approvals:
        appr: list[list[str]] = [[_t("when", lang), _t("approver", lang), _t("rule", lang)]]
        for a in process.approvals:
            when = (
                a.note.get(lang)
                if a.note
                else (_t("all", lang) if a.when is None else condition_text(a.when, lang, words))
            )
            appr.append([when, cat.roles[a.approver].get(lang), a.rule])
        out.append(Section(_t("approvals", lang), appr))
    return out


def _since(process: Process, lang: str) -> str:
    """自2020年1月1日起施行 / in force from 1 Jan 2020."""
    return _t("since", lang, d=day_text(process.effective_from, lang, weekday=False))


def _role(specs: SpecSet, role: str, lang: str) -> str:
    return _t("approver_role", lang) if role == "approver" else specs.catalog.roles[role].get(lang)


def markdown(processes: list[Process], specs: SpecSet, lang: str) -> str:
    parts = []
    for p in processes:
        parts.append(f"# {p.label.get(lang)} {_t('guide', lang)}\n")
        if p.description:
            parts.append(p.description.get(lang) + "\n")
        for section in sections(p, specs, lang):
            parts.append(f"## {section.heading}\n")
            if section.table:
                rows = [[c.replace("|", "/") for c in r] for r in section.rows]
                parts.append("| " + " | ".join(rows[0]) + " |")
                parts.append("|" + "---|" * len(rows[0]))
                parts.extend("| " + " | ".join(r) + " |" for r in rows[1:])
            else:
                parts.extend(f"- {r[0]}" for r in section.rows)
            parts.append("")
        parts.append(f"_{_t('calendar_note', lang)} {p.id} {p.version}, {_since(p, lang)}_\n")
    return "\n".join(parts)


_CSS = """
@page { size: A4; margin: 18mm 15mm; }
* { box-sizing: border-box; }
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", sans-serif;
       font-size: 10.5pt; line-height: 1.5; color: #111; max-width: 180mm; margin: 0 auto; }
h1 { font-size: 18pt; border-bottom: 2px solid #1a5fa8; padding-bottom: 4pt; }
h2 { font-size: 13pt; color: #1a5fa8; margin-top: 14pt; break-after: avoid; }
table { width: 100%; border-collapse: collapse; table-layout: fixed; margin: 4pt 0; }
th, td { border: 1px solid #999; padding: 3pt 5pt; vertical-align: top;
         overflow-wrap: anywhere; word-break: break-word; }
th { background: #e8eef6; text-align: left; }
tr { break-inside: avoid; }
td.rule, th.rule { width: 30mm; font-size: 9pt; white-space: nowrap; }
section.process { break-after: page; }
section.process:last-child { break-after: auto; }
p.note { font-size: 9pt; color: #555; }
"""


def page(processes: list[Process], specs: SpecSet, lang: str) -> str:
    e = html.escape
    body = []
    for p in processes:
        body.append('<section class="process">')
        body.append(f"<h1>{e(p.label.get(lang))} {e(_t('guide', lang))}</h1>")
        if p.description:
            body.append(f"<p>{e(p.description.get(lang))}</p>")
        for section in sections(p, specs, lang):
            body.append(f"<h2>{e(section.heading)}</h2>")
            if not section.table:
                body.append("<ul>" + "".join(f"<li>{e(r[0])}</li>" for r in section.rows) + "</ul>")
                continue
            last = len(section.rows[0]) - 1
            head = "".join(
                f"<th{' class=rule' if i == last else ''}>{e(c)}</th>"
                for i, c in enumerate(section.rows[0])
            )
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>")
            for row in section.rows[1:]:
                cells = "".join(
                    f"<td{' class=rule' if i == last else ''}>{e(c)}</td>"
                    for i, c in enumerate(row)
                )
                body.append(f"<tr>{cells}</tr>")
            body.append("</tbody></table>")
        body.append(
            f'<p class="note">{e(_t("calendar_note", lang))} '
            f"{e(p.id)} {e(p.version)} · {e(_since(p, lang))}</p>"
        )
        body.append("</section>")
    title = " / ".join(p.label.get(lang) for p in processes)
    html_lang = "zh-CN" if lang == "zh" else "en"
    return (
        f'<!DOCTYPE html>\n<html lang="{html_lang}"><head><meta charset="utf-8">'
        f"<title>{e(title)} {e(_t('guide', lang))}</title><style>{_CSS}</style></head>"
        f"<body>{''.join(body)}</body></html>\n"
    )


def render(processes: list[Process], specs: SpecSet, fmt: str, lang: str) -> str:
    return page(processes, specs, lang) if fmt == "html" else markdown(processes, specs, lang)

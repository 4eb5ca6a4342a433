"""Draw a process as a swimlane chart (lanes = roles; steps in order; gates and routing as
decisions; deadlines on the edges) in Mermaid, PlantUML or Graphviz dot. Formats only.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from .expressions import Expression
from .report import duration_text
from .spec.compile import SpecSet
from .spec.model import Process, Step
from .wording import Words, condition_text

APPROVER_LANE = "approver"


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    label: str = ""
    dashed: bool = False


def step_conditions(process: Process) -> dict[str, Expression]:
    """The steps that happen only in some cases: every `requires` that names the step has a
    `when` (OT-SURVEY: the survey only for a developer's transfer). Step id -> that condition."""
    naming: dict[str, list[Expression | None]] = {}
    for step in process.steps:
        for precedence in step.requires:
            naming.setdefault(precedence.step, []).append(precedence.when)
    return {
        sid: whens[0]
        for sid, whens in naming.items()
        if whens and all(w is not None for w in whens) and whens[0] is not None
    }


def only_when(text: str, lang: str) -> str:
    return f"（仅当{text}）" if lang == "zh" else f" (only when {text})"


def _step_label(step: Step, process: Process, specs: SpecSet, lang: str) -> str:
    """The step's name and rule; a conditional step says when it happens."""
    text = step.label.get(lang)
    cond = step_conditions(process).get(step.id)
    if cond is not None:
        text += only_when(condition_text(cond, lang, Words(process, specs)), lang)
    return text + (f" [{step.rule}]" if step.rule else "")


def _question(text: str, lang: str) -> str:
    return text + ("？" if lang == "zh" else "?")


def _node(name: str) -> str:
    """A safe node name: steps get a prefix (a step called `end` or `node` would break Mermaid
    or dot); the chart's own nodes, named with a leading underscore, lose it."""
    return name[1:] if name.startswith("_") else f"s_{name}"


def _quote(text: str) -> str:
    return text.replace('"', "'")


def _lane(process: Process, step_roles: tuple[str, ...]) -> str:
    return step_roles[0]


def _lane_label(specs: SpecSet, role: str, lang: str) -> str:
    if role == APPROVER_LANE:
        return "审批人" if lang == "zh" else "Approver"
    return specs.catalog.roles[role].get(lang)


def _edges(process: Process, specs: SpecSet, lang: str) -> list[Edge]:
    """Chart order from `after`; an order the spec enforces (`requires`) beyond it as a dashed
    edge, labelled with its condition (OT-SURVEY: the survey before the approval, for a
    developer's transfer); each deadline labels the edge between its start and stop steps
    (a dashed edge of its own where the two are not neighbours)."""
    by_event = {s.event: s.id for s in process.steps}
    edges = {(a, s.id): Edge(a, s.id) for s in process.steps for a in s.after}
    words = Words(process, specs)
    for step in process.steps:
        for precedence in step.requires:
            if (precedence.step, step.id) not in edges:
                label = (
                    "" if precedence.when is None else condition_text(precedence.when, lang, words)
                )
                edges[(precedence.step, step.id)] = Edge(precedence.step, step.id, label, True)
    for d in process.deadlines:
        text = f"{d.rule} {duration_text(d.duration, lang)}"
        for start in d.start:
            for stop in d.stop:
                a, b = by_event.get(start), by_event.get(stop)
                if a is None or b is None:
                    continue
                old = edges.get((a, b))
                if old is not None:
                    label = f"{old.label}; {text}" if old.label else text
                    edges[(a, b)] = Edge(a, b, label)
                else:
                    edges[(a, b)] = Edge(a, b, text, dashed=True)
    return list(edges.values())


def _decisions(
    process: Process, specs: SpecSet, lang: str
) -> Iterator[tuple[str, str, list[tuple[str, str]]]]:
    """(node id, question, [(answer, target node)]) for gates and approval routing.

    Gates stand in a row after the first step; the last one leads on to the step after it."""
    yes, no = ("是", "否") if lang == "zh" else ("yes", "no")
    words = Words(process, specs)
    after_first = _successors(process)
    for i, gate in enumerate(process.gates):
        following = [f"_gate_{i + 1}"] if i + 1 < len(process.gates) else after_first
        answers = [(yes, f"_blocked_{i}")] + [(no, f) for f in following]
        question = _question(f"{gate.rule}: {condition_text(gate.when, lang, words)}", lang)
        yield f"_gate_{i}", question, answers
    approver_step = next((s for s in process.steps if APPROVER_LANE in s.roles), None)
    routed = [a for a in process.approvals if a.when is not None]
    if approver_step and routed:
        yield (
            f"_route_{approver_step.id}",
            routed[0].rule,
            [
                (condition_text(a.when, lang, words) if a.when else "", f"_approver_{a.approver}")
                for a in routed
            ],
        )


def _successors(process: Process) -> list[str]:
    """Every step that follows the first one: the gates stand before each branch (OT-ARREARS
    before the survey and before the approval alike)."""
    first = process.steps[0].id
    return [s.id for s in process.steps if first in s.after]


def _links(process: Process, specs: SpecSet, lang: str) -> list[Edge]:
    """The chart's edges, with the first step leading into the gates when there are any."""
    edges = _edges(process, specs, lang)
    if process.gates:
        first, following = process.steps[0].id, set(_successors(process))
        edges = [
            e for e in edges if not (e.source == first and e.target in following and not e.label)
        ]
        edges.insert(0, Edge(first, "_gate_0"))
    approver_step = next((s for s in process.steps if APPROVER_LANE in s.roles), None)
    if approver_step and any(a.when is not None for a in process.approvals):
        edges.append(Edge(approver_step.id, f"_route_{approver_step.id}"))
    return edges


def render(process: Process, specs: SpecSet, fmt: str, lang: str) -> str:
    return {"mermaid": _mermaid, "plantuml": _plantuml, "dot": _dot}[fmt](process, specs, lang)


def _mermaid(process: Process, specs: SpecSet, lang: str) -> str:
    lines = ["flowchart LR", f"  %% {process.id} {process.version}: {process.label.get(lang)}"]
    lanes: dict[str, list[str]] = {}
    for s in process.steps:
        lanes.setdefault(_lane(process, s.roles), []).append(s.id)
    names = {s.id: _step_label(s, process, specs, lang) for s in process.steps}
    for role, steps in lanes.items():
        lines.append(f'  subgraph lane_{role}["{_quote(_lane_label(specs, role, lang))}"]')
        lines.append("    direction TB")
        lines.extend(f'    {_node(sid)}["{_quote(names[sid])}"]' for sid in steps)
        lines.append("  end")
    for node, question, answers in _decisions(process, specs, lang):
        lines.append(f'  {_node(node)}{{"{_quote(question)}"}}')
        for answer, target in answers:
            if target.startswith("_blocked_"):
                lines.append(
                    f'  {_node(target)}(["{"不予办理" if lang == "zh" else "not processed"}"])'
                )
            if target.startswith("_approver_"):
                role = target.removeprefix("_approver_")
                lines.append(
                    f'  {_node(target)}(["{_quote(specs.catalog.roles[role].get(lang))}"])'
                )
            lines.append(f'  {_node(node)} -->|"{_quote(answer)}"| {_node(target)}')
    for e in _links(process, specs, lang):
        arrow = "-.->" if e.dashed else "-->"
        label = f'|"{_quote(e.label)}"|' if e.label else ""
        lines.append(f"  {_node(e.source)} {arrow}{label} {_node(e.target)}")
    conditional = [_node(sid) for sid in step_conditions(process)]
    if conditional:  # steps that happen only in some cases: a dashed border
        lines.append("  classDef conditional stroke-dasharray: 5 5")
        lines.append(f"  class {','.join(conditional)} conditional")
    return "\n".join(lines) + "\n"


def _dot(process: Process, specs: SpecSet, lang: str) -> str:
    lines = [
        f'digraph "{process.id}" {{',
        "  rankdir=LR;",
        '  node [shape=box, style=rounded, fontname="Noto Sans CJK SC, sans-serif"];',
        f'  label="{_quote(process.label.get(lang))} ({process.id} {process.version})";',
        "  labelloc=t;",
    ]
    lanes: dict[str, list[str]] = {}
    for s in process.steps:
        lanes.setdefault(_lane(process, s.roles), []).append(s.id)
    for role, steps in lanes.items():
        lines.append(f"  subgraph cluster_{role} {{")
        lines.append(f'    label="{_quote(_lane_label(specs, role, lang))}";')
        conditional = step_conditions(process)
        for s in process.steps:
            if s.id in steps:
                rule = f"\\n[{s.rule}]" if s.rule else ""
                cond = conditional.get(s.id)
                extra = ""
                if cond is not None:
                    when = only_when(condition_text(cond, lang, Words(process, specs)), lang)
                    rule += f"\\n{_quote(when.strip())}"
                    extra = ', style="rounded,dashed"'
                lines.append(
                    f'    {_node(s.id)} [label="{_quote(s.label.get(lang))}{rule}"{extra}];'
                )
        lines.append("  }")
    for node, question, answers in _decisions(process, specs, lang):
        lines.append(f'  {_node(node)} [shape=diamond, label="{_quote(question)}"];')
        for answer, target in answers:
            if target.startswith("_blocked_"):
                refused = "不予办理" if lang == "zh" else "not processed"
                lines.append(f'  {_node(target)} [shape=oval, label="{refused}"];')
            if target.startswith("_approver_"):
                role = target.removeprefix("_approver_")
                name = _quote(specs.catalog.roles[role].get(lang))
                lines.append(f'  {_node(target)} [shape=oval, label="{name}"];')
            lines.append(f'  {_node(node)} -> {_node(target)} [label="{_quote(answer)}"];')
    for e in _links(process, specs, lang):
        attrs = [f'label="{_quote(e.label)}"'] if e.label else []
        if e.dashed:
            attrs.append("style=dashed")
        lines.append(
            f"  {_node(e.source)} -> {_node(e.target)}"
            + (f" [{', '.join(attrs)}]" if attrs else "")
            + ";"
        )
    lines.append("}")
    return "\n".join(lines) + "\n"


def _plantuml(process: Process, specs: SpecSet, lang: str) -> str:
    """An activity diagram in swimlanes: gates right after the first step, so before every
    branch; a conditional step inside `if (...) then (是)`; routing as labelled branches."""
    yes, no = ("是", "否") if lang == "zh" else ("yes", "no")
    words = Words(process, specs)
    conditional = step_conditions(process)
    lines = ["@startuml", f"title {process.label.get(lang)} ({process.id} {process.version})"]
    notes: dict[str, list[str]] = {}
    by_event = {s.event: s.id for s in process.steps}
    for d in process.deadlines:
        for stop in d.stop:
            if stop in by_event:
                notes.setdefault(by_event[stop], []).append(
                    f"{d.rule}: {duration_text(d.duration, lang)}"
                )
    lines.append(f"|{_lane_label(specs, _lane(process, process.steps[0].roles), lang)}|")
    lines.append("start")
    for i, step in enumerate(process.steps):
        cond = conditional.get(step.id)
        if cond is not None:
            lines.append(f"if ({_question(condition_text(cond, lang, words), lang)}) then ({yes})")
        lines.append(f"|{_lane_label(specs, _lane(process, step.roles), lang)}|")
        lines.append(f":{step.label.get(lang)}" + (f" [{step.rule}]" if step.rule else "") + ";")
        for note in notes.get(step.id, []):
            lines.append(f"note right: {note}")
        if cond is not None:
            lines.append(f"else ({no})")
            lines.append("endif")
        if i == 0:
            for gate in process.gates:
                question = f"{gate.rule}: {condition_text(gate.when, lang, words)}"
                lines.append(f"if ({_question(question, lang)}) then ({yes})")
                lines.append(f":{'不予办理' if lang == 'zh' else 'not processed'};")
                lines.append("stop")
                lines.append(f"else ({no})")
                lines.append("endif")
        if APPROVER_LANE in step.roles:
            routed = [a for a in process.approvals if a.when is not None]
            for j, a in enumerate(routed):
                keyword = "if" if j == 0 else "elseif"
                question = _question(condition_text(a.when, lang, words) if a.when else "", lang)
                lines.append(f"{keyword} ({question}) then ({yes})")
                lines.append(f":{specs.catalog.roles[a.approver].get(lang)} [{a.rule}];")
            if routed:
                lines.append("endif")
    lines.append("stop")
    lines.append("@enduml")
    return "\n".join(lines) + "\n"

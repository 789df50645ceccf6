"""A flow as admins review it: an indented tree, or a Mermaid flowchart."""

from __future__ import annotations

from bot.core.models import Choice, Flow, Step

END_LABELS = {"resolved": "✅ 解决", "escalate": "🙋 转人工"}


def _target(choice: Choice) -> str:
    kind, target = choice.target
    if kind == "end":
        return END_LABELS[target]
    if kind == "script":
        return f"💬 话术 {target}"
    if kind == "flow":
        return f"↪ 流程 {target}"
    return target


def as_tree(flow: Flow) -> str:
    """Each step once, in walk order; a step met again is referred to by id."""
    lines = [f"{flow.id}: {flow.title}"]
    if flow.intents or flow.parties:
        lines.append(f"  for: {', '.join(flow.intents + tuple(p.value for p in flow.parties))}")
    shown: set[str] = set()

    def walk(step: Step, depth: int) -> None:
        shown.add(step.id)
        pad = "  " * depth
        lines.append(f"{pad}[{step.id}] {step.text}")
        for choice in step.choices:
            kind, target = choice.target
            if kind == "next" and target not in shown:
                lines.append(f"{pad}  - {choice.label} →")
                next_step = flow.step(target)
                if next_step is not None:
                    walk(next_step, depth + 2)
            else:
                lines.append(f"{pad}  - {choice.label} → {_target(choice)}")

    walk(flow.start, 1)
    return "\n".join(lines)


def as_mermaid(flow: Flow) -> str:
    def quote(text: str) -> str:
        return '"' + text.replace('"', "'") + '"'

    lines = ["flowchart TD"]
    ends: set[str] = set()
    for step in flow.steps:
        text = step.text if len(step.text) <= 40 else step.text[:39] + "…"
        lines.append(f"  {step.id}[{quote(text)}]")
        for choice in step.choices:
            kind, target = choice.target
            node = target if kind == "next" else f"{kind}_{target}"
            if kind != "next" and node not in ends:
                ends.add(node)
                lines.append(f"  {node}(({quote(_target(choice))}))")
            lines.append(f"  {step.id} -->|{quote(choice.label)}| {node}")
    return "\n".join(lines)

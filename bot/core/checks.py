"""Content checks beyond the schema, for `posbot validate`: problems an admin can fix in YAML."""

from __future__ import annotations

import re
from functools import partial

from rapidfuzz import fuzz

from bot.core.answer import (ANSWER_LINES, STEP_LIMIT, Shape, problem_answer, redirect_answer, refusal_answer)
from bot.core.cards import holds_card_number
from bot.core.context import match_followup
from bot.core.decide import decide, second_opinion
from bot.core.errors import Problem
from bot.core.loader import Content
from bot.core.match import Matcher
from bot.core.models import REQUIRED_SYMPTOMS, Flow
from bot.core.slots import SLOT_BLANKS


def check_content(content: Content, matcher: Matcher | None = None) -> list[Problem]:
    """Everything `posbot validate` reports for content that already loads.

    - required symptom ids are present; related codes exist
    - no alias or example is shared by two intents (after normalisation)
    - no example, left out of the index, would be answered outright as another intent: such an
      example sits in another intent's territory and teaches the matcher to confuse the two
    """
    matcher = matcher or Matcher(content)
    problems: list[Problem] = check_knowledge(content) + check_answer_shapes(content)

    for symptom_id in REQUIRED_SYMPTOMS:
        if symptom_id not in content.by_id:
            problems.append(Problem("intents/symptoms", None, symptom_id,
                                    "缺少必备的症状意图（posbot 会用到它，不能删）"))
    for symptom in content.symptoms:
        for index, code in enumerate(symptom.related_codes):
            if code not in content.by_code:
                where = content.locate(symptom.id)
                problems.append(Problem(where.file, where.line, f"{symptom.id}.related_codes[{index}]",
                                        f"没有应答码 {code} 的意图（先在 intents/codes/ 里加上它，或从这里删掉）"))

    owners: dict[str, tuple[str, str]] = {}
    for intent in content.intents:
        for field_name in ("aliases", "examples"):
            for index, text in enumerate(getattr(intent, field_name)):
                form = matcher.form_of(intent, text)
                if not form:
                    continue
                owner = owners.get(form)
                where = content.locate(intent.id, field_name, index)
                if owner is not None and owner[0] != intent.id:
                    problems.append(Problem(where.file, where.line, f"{intent.id}.{field_name}[{index}]",
                                            f"{text!r} 在 {owner[0]}.{owner[1]} 里也有：同一句话只能属于一个意图，删掉其中一处"))
                owners.setdefault(form, (intent.id, f"{field_name}[{index}]"))

    for intent in content.intents:
        for index, negative in enumerate(getattr(intent, "not_examples", ())):
            analysis = matcher.analyse(negative)
            decision = second_opinion(decide(analysis.candidates, specific=analysis.specific),
                                      partial(matcher.redline_verdict, analysis), analysis.normalised,
                                      analysis.candidates, analysis.query)
            if decision.intent == intent.id:
                where = content.locate(intent.id, "not_examples", index)
                problems.append(Problem(where.file, where.line, f"{intent.id}.not_examples[{index}]",
                                        f"{negative!r} 是反例，却仍然被判成 {intent.id}：给它真正所属的意图"
                                        "加一条相近的例句，或者改写这条反例"))
    for intent in content.intents:
        for index, example in enumerate(intent.examples):
            analysis = matcher.analyse(example, exclude=(intent.id, f"examples.{index}"))
            decision = decide(analysis.candidates, specific=analysis.specific)
            confused = content.by_id.get(decision.intent or "")
            if intent.kind == "smalltalk" and confused is not None and confused.kind == "smalltalk":
                continue  # "您好" taken for "好的" costs nothing: small talk may overlap itself
            if intent.kind == "redline" and decision.kind == "refuse":
                continue  # refused as a neighbouring red line (自刷 as 套现 or 养卡): still refused, with why
            if decision.kind in ("answer", "refuse") and decision.intent not in (intent.id, None):
                top = analysis.candidates[0]
                own = next((f"{c.score:.2f}" for c in analysis.candidates if c.intent == intent.id), "不在前 5 名")
                where = content.locate(intent.id, "examples", index)
                problems.append(Problem(
                    where.file, where.line, f"{intent.id}.examples[{index}]",
                    f"{example!r} 如果不是例句，会被回答成 {top.intent}（{top.score:.2f}；本意图 {own}）："
                    f"改写这条例句、把它移到 {top.intent}，或者改写 {top.intent} 的例句"))
    return problems


REPEAT_AT = 80
"""A step this close to the first line (rapidfuzz ratio, 0-100) says it again. The closest pair in
today's content scores 49; a step copied into `now` with a word changed scores 85 and more."""


def check_answer_shapes(content: Content) -> list[Problem]:
    """Every answer fits a phone (bot/core/answer.py): at most ANSWER_LINES lines before the buttons,
    the title included, and no step longer than STEP_LIMIT characters. (The first line's 40
    characters are checked by the schema, with the other fields.) Measured on the answer as the
    dialog builds it, so the check and the merchant see the same lines."""
    problems: list[Problem] = []
    shapes: list[tuple[str, str, Shape]] = [(intent.id, "steps", problem_answer(intent)) for intent in content.problems]
    shapes += [(intent.id, "answer", redirect_answer(intent)) for intent in content.redirects]
    shapes += [(intent.id, "answer", refusal_answer(intent)) for intent in content.redlines]
    for intent_id, field_name, shape in shapes:
        if shape.count > ANSWER_LINES:
            where = content.locate(intent_id, field_name, 0)  # the first step, else the intent
            problems.append(Problem(where.file, where.line, f"{intent_id}.{field_name}",
                                    f"回答在手机上有 {shape.count} 行（连标题最多 {ANSWER_LINES} 行）：只留下马上要做的几步，"
                                    "其余的移到 details（详细说明）里"))
    for intent in content.problems:
        for index, step in enumerate(intent.steps):
            if fuzz.ratio(intent.now, step, processor=None) >= REPEAT_AT:
                where = content.locate(intent.id, "steps", index)
                problems.append(Problem(where.file, where.line, f"{intent.id}.steps[{index}]",
                                        f"这一步和第一句（now）几乎一样：{step!r}。回答里不要把同一件事说两遍，"
                                        "删掉这一步，或者改写第一句"))
            if len(step) > STEP_LIMIT:
                where = content.locate(intent.id, "steps", index)
                problems.append(Problem(where.file, where.line, f"{intent.id}.steps[{index}]",
                                        f"这一步有 {len(step)} 个字，回答里每一步最多 {STEP_LIMIT} 个字（手机上约两行）："
                                        "写短些，原因和少见的情况移到 details（详细说明）里"))
    return problems


def check_knowledge(content: Content) -> list[Problem]:
    """Flows and scripts: every intent leads to a flow; every step is reachable from the first and
    can reach an end (resolved, escalate, a script or another flow); scripts use only the known
    placeholders and never hold a card number or ask for a PIN; each follow-up's examples are taken
    for it and its not_examples are not. (References were checked on load.)"""
    problems: list[Problem] = check_followups(content)
    for intent in content.problems:
        if content.flow_for(intent.id) is None:
            where = content.locate(intent.id)
            problems.append(Problem(where.file, where.line, intent.id,
                                    "没有对应的排查流程：把它写进某个流程的 intents（应答码也可以给它的"
                                    "处理方 party 设一个默认流程）"))
    for flow in content.flows:
        key = f"flow:{flow.id}"
        reachable = _reachable(flow)
        finishing = _can_finish(flow)
        for index, step in enumerate(flow.steps):
            where = content.locate(key, "steps", index)
            if step.id not in reachable:
                problems.append(Problem(where.file, where.line, f"{flow.id}.{step.id}",
                                        "从第一步走不到这一步：让前面某个按钮的 next 指向它，或删掉这一步"))
            elif step.id not in finishing:
                problems.append(Problem(where.file, where.line, f"{flow.id}.{step.id}",
                                        "死胡同：从这一步出发怎么点都到不了 resolved、escalate、话术或另一个流程"))
    for script in content.scripts:
        where = content.locate(f"script:{script.id}")
        for move in ("short", *script.MOVES):
            line = getattr(script, move)
            if line is None:
                continue
            unknown = set(re.findall(r"\{([^}]*)\}", line)) - set(SLOT_BLANKS)
            if unknown:
                problems.append(Problem(where.file, where.line, f"{script.id}.{move}",
                                        f"不认识的占位符 {sorted(unknown)}：只能用 {{amount}}、{{time}} 或 {{last4}}"))
            card = holds_card_number(line) or re.search(r"[0-9]{13,}", line)
            if card or re.search(r"(告诉|说出|报给?|念).{0,3}密码", line):
                problems.append(Problem(where.file, where.line, f"{script.id}.{move}",
                                        "话术里不能出现卡号，也不能让顾客说出密码"))
    return problems


def check_followups(content: Content) -> list[Problem]:
    """Every example of a follow-up is understood as that follow-up (not as a closer one), and no
    not_example is."""
    problems: list[Problem] = []
    for followup in content.followups:
        key = f"followup:{followup.id}"
        for field_name in ("examples", "not_examples"):
            for index, text in enumerate(getattr(followup, field_name)):
                hit = match_followup(text, content.followups)
                taken = hit.followup.id if hit is not None else None
                wrong = taken != followup.id if field_name == "examples" else taken == followup.id
                if wrong:
                    where = content.locate(key, field_name, index)
                    said = f"被当成了 {taken}" if taken else "谁也不像"
                    problems.append(Problem(where.file, where.line, f"{followup.id}.{field_name}[{index}]",
                                            f"{text!r} {'是例句' if field_name == 'examples' else '是反例'}，却{said}："
                                            "改写这一条，或者改写相近的追问的例句"))
    return problems


def _reachable(flow: Flow) -> set[str]:
    seen, todo = {flow.start.id}, [flow.start]
    while todo:
        for choice in todo.pop().choices:
            kind, target = choice.target
            if kind == "next" and target not in seen:
                seen.add(target)
                step = flow.step(target)
                if step is not None:
                    todo.append(step)
    return seen


def _can_finish(flow: Flow) -> set[str]:
    finishing = {step.id for step in flow.steps if any(c.target[0] != "next" for c in step.choices)}
    changed = True
    while changed:
        changed = False
        for step in flow.steps:
            if step.id not in finishing and any(c.target in {("next", f) for f in finishing} for c in step.choices):
                finishing.add(step.id)
                changed = True
    return finishing

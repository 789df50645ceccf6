"""Content checks beyond the schema, for `posbot validate`: problems an admin can fix in YAML."""

from __future__ import annotations

from bot.core.decide import decide
from bot.core.errors import Problem
from bot.core.loader import Content
from bot.core.match import Matcher
from bot.core.models import REQUIRED_SYMPTOMS


def check_content(content: Content, matcher: Matcher | None = None) -> list[Problem]:
    """Everything `posbot validate` reports for content that already loads.

    - required symptom ids are present; related codes exist
    - no alias or example is shared by two intents (after normalisation)
    - no example, left out of the index, would be answered outright as another intent: such an
      example sits in another intent's territory and teaches the matcher to confuse the two
    """
    matcher = matcher or Matcher(content)
    problems: list[Problem] = []

    for symptom_id in REQUIRED_SYMPTOMS:
        if symptom_id not in content.by_id:
            problems.append(Problem(str(content.root), None, "symptoms",
                                    f"required symptom intent {symptom_id!r} is missing"))
    for symptom in content.symptoms:
        for index, code in enumerate(symptom.related_codes):
            if code not in content.by_code:
                where = content.locate(symptom.id)
                problems.append(Problem(where.file, where.line, f"{symptom.id}.related_codes[{index}]",
                                        f"no code intent for {code}"))

    owners: dict[str, tuple[str, str]] = {}
    for intent in content.intents:
        for field_name in ("aliases", "examples"):
            for index, text in enumerate(getattr(intent, field_name)):
                form = matcher.match_form(text)
                if not form:
                    continue
                owner = owners.get(form)
                where = content.locate(intent.id, field_name, index)
                if owner is not None and owner[0] != intent.id:
                    problems.append(Problem(where.file, where.line, f"{intent.id}.{field_name}[{index}]",
                                            f"{text!r} is also in {owner[0]}.{owner[1]}"))
                owners.setdefault(form, (intent.id, f"{field_name}[{index}]"))

    for intent in content.intents:
        for index, example in enumerate(intent.examples):
            analysis = matcher.analyse(example, exclude=(intent.id, f"examples.{index}"))
            decision = decide(analysis.candidates)
            if decision.kind == "answer" and decision.intent != intent.id:
                top = analysis.candidates[0]
                own = next((f"{c.score:.2f}" for c in analysis.candidates if c.intent == intent.id), "not in top 5")
                where = content.locate(intent.id, "examples", index)
                problems.append(Problem(
                    where.file, where.line, f"{intent.id}.examples[{index}]",
                    f"{example!r} would be answered as {top.intent} ({top.score:.2f}; own intent {own}) "
                    f"if it were not an example; reword it, move it, or reword {top.intent}"))
    return problems

"""Accuracy floors on the evaluation sets: `make test` fails if a content or matcher change makes
posbot understand merchants worse. The floors sit just under what the README reports."""

from pathlib import Path

import pytest

from bot.core.engine import Engine
from bot.core.evaluate import Report, evaluate, load_cases

HERE = Path(__file__).parent


def report_for(engine: Engine, name: str) -> Report:
    cases = load_cases(HERE / name, engine.content)

    def understand(question: str):
        understanding = engine.understand(question)
        return understanding.decision, understanding.analysis.candidates

    return evaluate(cases, understand)


@pytest.fixture(scope="module")
def main_report(engine: Engine) -> Report:
    return report_for(engine, "questions.yaml")


def test_the_set_is_big_and_mixed(main_report: Report) -> None:
    assert len(main_report.outcomes) >= 300
    assert len(main_report.out_of_scope) >= 30


def test_top1_and_top3(main_report: Report) -> None:
    assert main_report.top1 >= 0.95
    assert main_report.top3 >= 0.98


def test_answers_are_almost_never_wrong(main_report: Report) -> None:
    assert main_report.answer_precision >= 0.98
    assert main_report.answer_rate >= 0.80


def test_out_of_scope_goes_to_fallback(main_report: Report) -> None:
    assert main_report.fallback_recall >= 0.90


def test_held_out_set_generalises(engine: Engine) -> None:
    """holdout.yaml was written later and is never used to tune; its floors are a little lower."""
    report = report_for(engine, "holdout.yaml")
    assert len(report.outcomes) >= 200
    assert report.top1 >= 0.95
    assert report.top3 >= 0.97
    assert report.answer_precision >= 0.95
    assert report.fallback_recall >= 0.80

"""Every shipped flow walked by the real engine: every step reached, every choice taken to its end."""

from bot.core.checks import check_knowledge
from bot.core.dialog import CHOOSE, FLOW, HUMAN, SCRIPT, Dialog, DialogState, Turn, action
from bot.core.engine import Engine
from bot.core.reply import Reply

REQUIRED_OWN_FLOWS = ("charged_but_failed", "signin_failure", "network_failure", "printer_problem",
                      "card_read_failure", "contactless_failure", "pin_pad_problem", "duplicate_charge",
                      "settlement_delay", "merchant_frozen", "terminal_locked", "customer_dispute")
REQUIRED_SCRIPTS = ("charged_but_failed", "duplicate_charge", "issuer_decline", "retained_card", "wrong_pin",
                    "card_expired_restricted", "system_fault", "terminal_fault", "refund_timing", "customer_denies")
TELEGRAM_MESSAGE_LIMIT = 4096


def test_knowledge_passes_every_check(engine: Engine) -> None:
    assert [str(p) for p in check_knowledge(engine.content)] == []


def test_required_flows_and_scripts_exist(engine: Engine) -> None:
    for flow_id in REQUIRED_OWN_FLOWS:
        flow = engine.content.flows_by_id[flow_id]
        assert engine.content.flow_for(flow_id) is flow, flow_id
    assert set(REQUIRED_SCRIPTS) <= set(engine.content.scripts_by_id)


def test_every_intent_leads_to_a_flow(engine: Engine) -> None:
    for intent in engine.content.problems:
        assert engine.content.flow_for(intent.id) is not None, intent.id


def check_reply(reply: Reply) -> None:
    assert len(reply.title) + len(reply.text) < TELEGRAM_MESSAGE_LIMIT
    assert all(len(option.action.encode()) <= 64 for option in reply.options)
    assert len({option.action for option in reply.options}) == len(reply.options)


def test_walk_every_flow_to_every_end(engine: Engine) -> None:
    dialog = Dialog(engine)
    taken = 0
    for flow in engine.content.flows:
        start = dialog.on_action(action(FLOW, flow.id), DialogState())
        at: dict[str, Turn] = {flow.start.id: start}
        todo = [flow.start.id]
        while todo:
            step = flow.step(todo.pop())
            turn = at[step.id]
            check_reply(turn.reply)
            assert turn.reply.kind == "step" and turn.reply.text.endswith(step.text)
            assert turn.reply.options[-1].action == HUMAN
            for index, choice in enumerate(step.choices):
                result = dialog.on_action(action(CHOOSE, flow.id, step.id, str(index)), turn.state)
                check_reply(result.reply)
                taken += 1
                kind, target = choice.target
                if kind == "next":
                    assert result.state.step == target
                    if target not in at:
                        at[target] = result
                        todo.append(target)
                elif kind == "flow":
                    assert (result.state.flow, result.state.step) == (target, engine.content.flows_by_id[target].start.id)
                elif kind == "script":
                    assert result.reply.kind == "script" and "{" not in result.reply.text
                    assert result.events[0].end == f"script:{target}"
                elif target == "resolved":
                    assert result.reply.kind == "feedback" and result.events[0].end == "resolved"
                else:
                    assert result.reply.kind == "human" and result.events[0].end == "escalate"
        assert set(at) == {step.id for step in flow.steps}, flow.id
    assert taken > 100


def test_charged_but_failed_flow_covers_the_investigation(engine: Engine) -> None:
    flow = engine.content.flows_by_id["charged_but_failed"]
    linked = [engine.content.flows_by_id[c.flow] for step in flow.steps for c in step.choices if c.flow]
    text = "\n".join(step.text for f in (flow, *linked) for step in f.steps)
    for must in ("末笔", "重打印", "冲正", "签到", "收单", "撤销", "退货", "后四位", "终端号", "参考号"):
        assert must in text, must
    targets = {choice.target for step in flow.steps for choice in step.choices}
    assert ("flow", "duplicate_charge") in targets
    assert {kind for kind, _ in targets} >= {"next", "end", "script"}


def test_every_script_has_a_short_form_to_read_with_the_customer_waiting(engine: Engine) -> None:
    """Issue 14: the six moves take too long at the counter; each shipped script leads with at most
    three sentences (the model enforces the count) and keeps the six moves behind 完整话术."""
    dialog = Dialog(engine)
    for script in engine.content.scripts:
        assert script.short is not None, script.id
        reply = dialog.on_action(action(SCRIPT, script.id), DialogState()).reply
        assert reply.options[0].label == "完整话术", script.id
        assert len(reply.text) < len(dialog.on_action(reply.options[0].action, DialogState()).reply.text), script.id

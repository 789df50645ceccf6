"""The helpdesk's texts, without Telegram: what staff read on cards, labels and lists."""

from __future__ import annotations

from bot.core.engine import Engine
from bot.handoff import desk
from bot.handoff.models import CaseContext, Merchant, Status, Ticket

CARD = "6222021234567890128"


def ticket(**changes: object) -> Ticket:
    values: dict = dict(id=12, merchant=Merchant(7, 7, "张三"), status=Status.WAITING_SUPPORT,
                        context=CaseContext(trigger="button", intent="code_51", code="51"), topic_id=500,
                        header_message_id=None, created_at=1000.0, updated_at=1000.0, waiting_since=1000.0)
    return Ticket(**(values | changes))


def test_taps_read_as_the_buttons_the_merchant_saw(engine: Engine) -> None:
    content = engine.content
    flow = content.flows_by_id["printer_problem"]
    first = flow.start
    described = desk.describe_action(f"c:printer_problem:{first.id}:0", content)
    assert described is not None and first.choices[0].label in described
    assert desk.describe_action("f:printer_problem", content) == f"开始排查：{flow.title}"
    assert desk.describe_action("i:code_51", content) == "看解答：应答码 51 资金不足"
    assert desk.describe_action("h", content) == "转人工"
    assert desk.describe_action("rate:1:1", content) is None  # says nothing about the problem
    assert desk.describe_action("c:gone_flow:gone:2", content) == "排查中选了第 3 项"  # content changed since


def test_kb_finds_answers_by_code_id_title_or_alias(engine: Engine) -> None:
    content = engine.content
    assert desk.resolve_intent(content, "51") == "code_51"
    assert desk.resolve_intent(content, "code_51") == "code_51"
    assert desk.resolve_intent(content, "签到失败/请先签到") == "signin_failure"
    assert desk.resolve_intent(content, "") is None and desk.resolve_intent(content, "火星文") is None


def test_labels_lists_and_reminders_are_masked_chinese(engine: Engine) -> None:
    content = engine.content
    masked = ticket(merchant=Merchant(7, 7, f"卡{CARD}"), claimed_by=8101, claimed_name="小王")
    assert CARD not in desk.merchant_label(masked) and desk.merchant_label(ticket()) == "张三 · #12"
    line = desk.ticket_line(masked, content, now=1000.0 + 35 * 60)
    assert line.endswith("应答码 51 资金不足 · 开单 35分钟前 · 已等 35分钟 · 小王 已认领") and CARD not in line
    text = desk.reminder_text(ticket(), content, now=1000.0 + 3600 + 120)
    assert text.startswith("⏰ 工单 #12（张三 · 应答码 51 资金不足）已等待客服 1小时2分钟，还没有人认领")
    assert desk.staff_name(8101, "Wang", {8101: "小王"}) == "小王" and desk.staff_name(8102, "", {}) == "客服"
    assert desk.staff_label("小王") == "客服小王" and desk.staff_label("客服小李") == "客服小李"
    assert desk.check_every(1.2) == 0.24 and desk.check_every(900) == 60.0


def test_the_card_never_shows_a_card_number(engine: Engine) -> None:
    context = CaseContext(trigger="words", intent="code_51", code="51", detail=f"卡号{CARD}",
                          last_messages=(f"卡号 {CARD} 扣了两次",))
    card = desk.context_card(ticket(context=context), engine.content, actions=("i:code_51", "h"))
    assert CARD not in card and "****0128" in card
    assert "商户点过的按钮：\n  1. 看解答：应答码 51 资金不足\n  2. 转人工" in card
    assert "认领：未认领" in card

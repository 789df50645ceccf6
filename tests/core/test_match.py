"""The matcher and the decision, on the tiny fixture content and on the real content."""

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from bot.core import match as match_module
from bot.core import signals as signals_module
from bot.core.clauses import split_clauses
from bot.core.decide import CLARIFY_AT, Decision, decide
import bot.core.decide as decide_module
from bot.core.engine import Engine
from bot.core.match import Candidate


def fuzzy(intent: str, score: float) -> Candidate:
    return Candidate(intent, None, score, "fuzzy")


def test_decide_answers_when_sure_and_clear() -> None:
    assert decide([fuzzy("a", 0.95), fuzzy("b", 0.5)]) == Decision("answer", intent="a")


def test_decide_clarifies_when_two_are_close() -> None:
    decision = decide([fuzzy("a", 0.9), fuzzy("b", 0.89), fuzzy("c", 0.8), fuzzy("d", 0.7)],
                      answer_at=0.8, margin=0.05, clarify_at=0.5)
    assert decision.kind == "clarify"
    assert [c.intent for c in decision.choices] == ["a", "b", "c"]


def test_decide_falls_back_below_clarify_threshold() -> None:
    assert decide([fuzzy("a", CLARIFY_AT - 0.01)]).kind == "fallback"
    assert decide([]).kind == "fallback"


def test_decide_two_codes_ask_which() -> None:
    codes = [Candidate("code_51", "51", 1.0, "code"), Candidate("code_55", "55", 1.0, "code")]
    decision = decide(codes)
    assert decision.kind == "clarify"
    assert [c.code for c in decision.choices] == ["51", "55"]


def test_exact_code_outranks_fuzzy(mini_engine: Engine) -> None:
    analysis = mini_engine.matcher.analyse("签到失败显示A0")
    assert analysis.candidates[0].intent == "code_a0"
    assert analysis.candidates[0].via == "code"
    assert analysis.symptom is not None and analysis.symptom.intent == "signin_failure"


def test_code_and_symptom_answer_the_code_and_offer_the_symptom(engine: Engine) -> None:
    understanding = engine.understand("扣钱了但显示96")
    assert understanding.decision == Decision("answer", intent="code_96")
    assert understanding.analysis.symptom is not None
    assert understanding.analysis.symptom.intent == "charged_but_failed"


def test_exact_name_is_a_full_score(engine: Engine) -> None:
    top = engine.matcher.analyse("余额不足").candidates[0]
    assert (top.intent, top.score) == ("code_51", 1.0)


def test_scores_are_ranked_and_within_bounds(engine: Engine) -> None:
    candidates = engine.matcher.analyse("打印机打出来的小票是白纸").candidates
    scores = [c.score for c in candidates]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert len({c.intent for c in candidates}) == len(candidates) <= 5


def test_vendor_code_goes_to_unknown_decline(engine: Engine) -> None:
    understanding = engine.understand("屏幕显示E001")
    assert understanding.analysis.vendor_codes == ("E001",)
    assert understanding.decision.intent == "unknown_decline"


BAD_INPUTS = ["", "   ", "\n\t", "😀😀😀", "好" * 10_000, "\x00\x01\x02", "<script>alert(1)</script>",
              "'; DROP TABLE tickets; --", "\ud7ff\ufffd\uffff", "0" * 500, "a" * 3000]


def test_bad_input_always_gets_a_decision(engine: Engine) -> None:
    for text in BAD_INPUTS:
        understanding = engine.understand(text)
        assert understanding.decision.kind in {"answer", "clarify", "fallback"}
    assert engine.understand("").decision.kind == "fallback"
    assert engine.understand("😀😀😀").decision.kind == "fallback"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=400))
def test_any_text_gets_a_decision(engine: Engine, text: str) -> None:
    understanding = engine.understand(text)
    assert understanding.decision.kind in {"answer", "clarify", "fallback"}
    if understanding.decision.kind == "answer":
        assert understanding.decision.intent in engine.content.by_id


def test_synonyms_rewrite_words_not_substrings(engine: Engine) -> None:
    assert "pos机" in engine.matcher.tokens("刷卡机坏了")
    assert "pos机" not in engine.matcher.tokens("你是机器人吗")


def test_red_line_requests_are_declined_not_answered(engine: Engine) -> None:
    for question in ("教我用pos机给自己的信用卡套现", "大额怎么拆成几笔刷才不被风控", "换着卡刷能躲过风控吗"):
        understanding = engine.understand(question)
        assert understanding.decision.kind == "refuse", question
        assert understanding.decision.refused, question


def test_quantities_next_to_numbers_are_not_codes(engine: Engine) -> None:
    assert engine.understand("纸都用了12卷了 打出来糊成一片").analysis.codes == ()


def test_a_display_text_quoted_names_its_code(engine: Engine) -> None:
    """The terminal's own words, typed out without the number, point at the code they belong to."""
    top = engine.understand("刚才那笔又刷了一次 这次直接提示拒绝 重复交易 请稍后重试").analysis.candidates[0]
    assert (top.intent, top.via) == ("code_94", "display")
    shared = engine.understand("屏幕上显示拒绝，交换中心异常，请稍后重试 咋回事").decision
    assert shared.kind == "clarify" and {c.intent for c in shared.choices[:2]} == {"code_96", "code_a7"}


def test_a_story_that_says_the_payment_went_through_is_not_code_00(engine: Engine) -> None:
    candidates = engine.understand("交易成功了但是没出小票").analysis.candidates
    assert all(c.via != "display" for c in candidates)


def test_a_small_talk_clause_beside_a_stray_problem_word_is_small_talk(engine: Engine) -> None:
    # "一下午"/"服务" could point at a problem, but nothing fits one: the clause says what it is
    assert engine.understand("气死我了 等了一下午都没人理").decision.intent == "complaint"
    assert engine.understand("拜拜 下回有事再找你").decision.intent == "goodbye"
    # a problem that fits still wins over a greeting beside it
    assert engine.understand("你好 签到失败").decision.intent == "signin_failure"


def test_a_redirect_marker_in_a_story_only_draws_level(engine: Engine) -> None:
    # 路由器 is context in this story: posbot asks rather than sends the merchant to their router's maker
    story = "店里的路由器放在后面仓库 机器连wifi一直提示通讯失败 手机上网倒是正常 早上开店就这样了"
    understood = engine.understand(story)
    assert understood.analysis.candidates[0].intent == "network_failure"
    # answered as the terminal's problem, or asked about: never sent away
    assert understood.decision.kind in ("answer", "clarify")
    assert understood.decision.intent in (None, "network_failure")
    # what the merchant did to the router is not what is wrong
    tried = "早上开店 机器连wifi一直提示通讯失败 我把路由器重启了 手机上网正常 机器还是连不上"
    assert engine.understand(tried).decision.intent == "network_failure"
    # a short question about the router is still someone else's job
    assert engine.understand("路由器怎么改wifi密码").decision.intent == "redirect_device"


def test_a_question_said_not_to_be_about_the_terminal_offers_no_terminal_problem(engine: Engine) -> None:
    # nobody's job fits a fishing trip; the words it shares with terminal problems are no reason to ask
    understood = engine.understand("跟刷卡机没关系 我想问问下周末去哪钓鱼 那边天气咋样 要不要带伞")
    assert understood.decision.kind == "fallback"
    assert all(c.score <= match_module.ELSEWHERE_CAP for c in understood.analysis.candidates if c.kind == "symptom")
    # nor is a red line that only its examples' words fit
    lost = engine.understand("顺便问下 跟店里机器没关系 我妈的信用卡在菜市场丢了 卡里还有三万额度 咋办")
    assert lost.decision.kind != "refuse"
    # where a redirect fits, it is still the answer
    assert engine.understand("跟机器没关系 我自己的信用卡被冻结了 怎么解").decision.intent == "redirect_issuer"


def test_a_marked_redirect_is_answered_when_the_terminal_is_not_named(engine: Engine) -> None:
    matcher = engine.matcher
    fee = Candidate("fee_rate", None, 0.7, "fuzzy", kind="symptom")

    def redirect_score(normalised: str) -> float:
        ranked = matcher._with_markers([fee], normalised)
        return next(c.score for c in ranked if c.intent == "redirect_other_service")
    # "话费 … 手续费" shares words with a fee question, but names no terminal: the phone bill's operator answers
    assert redirect_score("话费 充值 手续费 多少") >= 0.7 + match_module.MARKER_LEAD
    # with the terminal named, posbot asks, the redirect first
    assert 0.7 < redirect_score("话费 充值 手续费 pos机 也 扣") < 0.7 + decide_module.MARGIN


def test_a_story_with_no_terminal_problem_keeps_its_redirect(engine: Engine) -> None:
    # a long question about becoming an agent shares a few words with terminal problems (0.2-0.4): those do
    # not hold the redirect back as a problem told beside it would
    story = "我在县城有家手机店 认识不少做生意的老乡 想跟你们合作做代理 一台机器分润多少 拿货价多少"
    assert engine.understand(story).decision.intent == "redirect_agent"


def test_two_redirects_marked_in_one_question_are_ordered_by_their_own_fit(engine: Engine) -> None:
    # 征信 is the bank's marker and 网贷 the lender's: the one whose examples fit better comes first
    ranked = [Candidate("redirect_loan", None, 0.5, "fuzzy", "", "redirect"),
              Candidate("redirect_issuer", None, 0.3, "fuzzy", "", "redirect")]
    moved = sorted(engine.matcher._with_markers(ranked, "不看 征信 网贷"), key=lambda c: c.score, reverse=True)
    assert [c.intent for c in moved[:2]] == ["redirect_loan", "redirect_issuer"]
    assert moved[0].score - moved[1].score < 0.15  # asked about, both offered


def test_a_story_holding_two_markers_of_a_redirect_is_about_its_world(engine: Engine) -> None:
    # 停车场 and 道闸 are both another reader's: the story is about that gate, asked about with it first
    story = "小区停车场出口那个道闸 今天刷卡一直提示读卡失败 后面的车排了一长串 保安也不会弄"
    understood = engine.understand(story)
    assert [c.intent for c in understood.analysis.candidates[:2]] == ["redirect_other_reader", "card_read_failure"]
    assert understood.decision.kind == "clarify"
    # one marker in a story is still context: the terminal problem leads
    one = "小区停车场旁边开了家小超市 今天刷卡一直提示读卡失败 后面的客人排了一长串"
    assert engine.understand(one).analysis.candidates[0].intent == "card_read_failure"


def test_a_marker_leads_even_a_problem_that_fits_better(engine: Engine) -> None:
    # "etc" is another reader's: even where a POS problem fits at 0.9, its redirect comes first
    ranked = [Candidate("duplicate_charge", None, 0.9, "fuzzy", "", "symptom")]
    moved = sorted(engine.matcher._with_markers(ranked, "etc 扣 两次"), key=lambda c: c.score, reverse=True)
    assert [c.intent for c in moved] == ["redirect_other_reader", "duplicate_charge"]
    assert moved[0].score - moved[1].score < 0.15  # close: posbot asks, it does not send the merchant away
    # in a story the marker stays under the problem
    story = engine.matcher._with_markers(ranked, "etc 扣 两次", story=True)
    assert max(story, key=lambda c: c.score).intent == "duplicate_charge"


def test_small_talk_with_one_rare_word_is_still_small_talk(engine: Engine) -> None:
    # 消息 is rare in the phrases, so it "points at a problem"; but the message is small talk's words, and
    # none is the terminal's
    assert engine.understand("这么晚了还回我消息 是真人吗").decision.intent == "bot_identity"
    # a terminal word keeps a question about the terminal what it is
    assert engine.understand("小票去哪打").analysis.candidates[0].kind != "smalltalk"


def test_what_small_talk_must_lead_stays_listed() -> None:
    talk = [Candidate(f"talk{n}", None, 0.5 - n / 100, "fuzzy", kind="smalltalk") for n in range(6)]
    problem = Candidate("printer_problem", None, 0.4, "fuzzy", kind="symptom")
    listed = match_module._listed([*talk, problem])
    assert len(listed) == match_module.MAX_CANDIDATES and listed[-1] == problem
    # so a small-talk lead of 0.1 over it is no answer
    assert decide(listed).kind != "answer"


def test_small_talk_is_weighed_by_its_own_words(engine: Engine) -> None:
    # "你们 … 是" is also how "你是机器人吗" starts; 骗子 is a complaint's word
    understood = engine.understand("你们这帮人就是骗子")
    assert understood.decision.intent == "complaint"
    assert [c.intent for c in understood.analysis.candidates[:2]] == ["complaint", "bot_identity"]


def test_a_closing_question_is_not_small_talk(engine: Engine) -> None:
    # "可以吗" after a question about a sale asks about that sale: answering "好的👌" would be absurd
    asked = engine.understand("客户公司要报账 我刷一笔没货的单子再把钱退他 可以吗")
    assert all(c.kind != "smalltalk" for c in asked.analysis.candidates)
    # a clause that is small talk on its own still says what the message is
    assert engine.understand("气死我了 找了一天都没人管").decision.intent == "complaint"


def test_a_red_line_its_examples_are_sure_of_is_not_passed_by_a_redirect_marker(engine: Engine) -> None:
    # 车贷 is redirect_loan's marker, but the act asked for is swiping a credit card on one's own terminal
    understood = engine.understand("车贷没钱交了 信用卡在我自己的pos上刷一笔转过去")
    assert understood.analysis.candidates[0].kind == "redline"
    assert understood.decision.kind == "refuse"
    # without a red line the marker still sends a loan question to whoever lends
    assert engine.understand("车贷逾期了怎么办").decision.intent == "redirect_loan"


def test_a_problem_told_in_two_clauses_of_a_story_scores_above_its_best_clause(engine: Engine) -> None:
    clauses = ["客人买了两条烟刷卡", "机器卡住不动", "我重启以后记录里找不到这一笔", "客人手机却收到了扣款短信",
               "这钱到底收没收到"]

    def score(text: str) -> float:
        found = [c.score for c in engine.matcher.analyse(text).candidates if c.intent == "charged_but_failed"]
        return found[0] if found else 0.0

    story = score(" ".join(clauses))
    best_alone = max(score(" ".join(clauses[i:i + 2])) for i in range(len(clauses)))
    assert story > best_alone + 0.02
    assert engine.understand(" ".join(clauses)).analysis.candidates[0].intent == "charged_but_failed"


def test_a_clause_like_someone_elses_job_does_not_lead_a_story(engine: Engine) -> None:
    story = "一个客人来买笔记本电脑 刷卡的时候机器一直提示通讯失败 换了个地方也一样 今天已经第三回了"
    ranked = [c.intent for c in engine.understand(story).analysis.candidates]
    assert ranked[0] == "network_failure"
    # a story with an aside about the merchant's own card is asked about, not sent to the bank outright
    aside = "昨天忙了一整天 晚上对账的时候 顺便想问我的储蓄卡被锁了 另外机器打小票有点淡 字看不太清"
    decision = engine.understand(aside).decision
    assert decision.kind == "clarify" and "redirect_issuer" in [c.intent for c in decision.choices]


def test_an_intents_profile_ranks_a_message_told_in_its_words_first(engine: Engine,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # 对账单 and 手续费 are fee_rate's words, spread over its examples; without the profile one phrase of
    # customer_dispute sharing "多" and "没收到" leads
    story = "对账单上的手续费比上个月多 我没收到通知"
    assert engine.matcher.analyse(story).candidates[0].intent == "fee_rate"
    monkeypatch.setattr(match_module, "PROFILE_SHARE", 0.0)
    assert engine.matcher.analyse(story).candidates[0].intent != "fee_rate"


def test_the_profile_widens_the_lead_of_the_intent_a_message_is_about(engine: Engine,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    story = "店里那台老机器最近老是自己关机 充一晚上电第二天中午就没电了 是不是电池该换了"

    def lead() -> float:
        first, second = engine.matcher.analyse(story).candidates[:2]
        assert first.intent == "power_battery"
        return first.score - second.score

    with_profile = lead()
    monkeypatch.setattr(match_module, "PROFILE_SHARE", 0.0)
    assert with_profile > lead() + 0.05


def test_a_short_screen_text_right_after_a_cue_names_its_code(engine: Engine) -> None:
    # 挂失卡 is code 41's whole display: quoted after 跳出来 it is that code, and the story around it
    # (his own card still in my machine) is not the red line of a merchant swiping their own card
    story = "一个小伙子刷卡买手机 屏幕跳出来挂失卡三个字 他说不可能是他自己的卡 现在卡还在我机器上插着 我是还给他还是扣下来"
    understood = engine.understand(story)
    assert understood.decision.kind == "answer"
    assert understood.decision.intent == "code_41"
    # without a cue before it, three characters are only words
    assert engine.matcher.analyse("挂失卡怎么办理").candidates[0].via != "display"


def test_a_measure_word_is_not_joined_with_the_word_after_it(engine: Engine) -> None:
    # "3次卡" must not become the word 次卡 (a punch card)
    tokens = engine.matcher.analyse("客人挥了3次卡都没反应").tokens
    assert "次卡" not in tokens
    assert "卡" in tokens
    # a small count is written as the examples write it: "2笔" is 两笔, what a duplicate charge is
    assert "两笔" in engine.matcher.analyse("明细里有2笔160都成功").tokens


def test_a_merchant_saying_it_is_not_about_the_terminal_is_sent_to_whose_job_it_is(engine: Engine) -> None:
    # lexicon `not_the_terminal`: without it these stories share more words with terminal problems
    # (冻结 with merchant_frozen, 小票打印机 with printer_problem)
    own_card = "跟店里机器没关系 我自己那张信用卡昨天刷着刷着就被冻结了 打银行电话也没人接 怎么解冻"
    assert engine.understand(own_card).decision.intent == "redirect_issuer"
    pc_printer = "收银电脑上连的那台小票打印机 装了驱动还是打不出来 刷卡机倒是好的"
    assert engine.understand(pc_printer).decision.intent == "redirect_device"
    # saying the machine is fine is not the same as saying the question is not about it
    assert engine.understand("机器没问题 就是签到一直失败").decision.intent != "redirect_device"
    assert engine.understand("不是刷卡机坏了 是签到不了").analysis.candidates[0].kind != "redirect"


def test_a_story_about_someone_elses_job_is_asked_about_with_it_first(engine: Engine,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    story = "我开超市五年了 想做你们的代理 推一台能拿多少分润 对了 我店里那台机器今天刷卡一直提示签到失败 怎么弄"
    understood = engine.understand(story)
    assert understood.analysis.candidates[0].intent == "redirect_agent"
    # it leads by at most STORY_LEAD: asked, never answered outright past the terminal question beside it
    assert understood.analysis.candidates[0].score - understood.analysis.candidates[1].score <= match_module.STORY_LEAD + 1e-9
    monkeypatch.setattr(match_module, "STORY_LEAD", -0.01)
    assert engine.understand(story).analysis.candidates[0].intent != "redirect_agent"


def test_a_red_line_by_example_must_lead_by_the_refuse_margin() -> None:
    from bot.core.decide import REFUSE_MARGIN

    def redline(score: float, via: str = "fuzzy") -> Candidate:
        return Candidate("identity_misuse", None, score, via, kind="redline")  # type: ignore[arg-type]  # via as a str

    ordinary = Candidate("apply_pos", None, 0.68, "fuzzy", kind="symptom")
    # barely ahead of an ordinary question: decided among the others, never refused
    close = decide([redline(0.70), ordinary])
    assert close.kind != "refuse"
    assert close.choices[0].intent == "apply_pos" if close.kind == "clarify" else close.intent == "apply_pos"
    assert decide([redline(0.68 + REFUSE_MARGIN + 0.01), ordinary]) == Decision("refuse", intent="identity_misuse", sure=False)
    # a pattern or a signal is certain whatever follows it
    assert decide([redline(1.0, "pattern"), Candidate("apply_pos", None, 0.99, "fuzzy")]).kind == "refuse"
    # two red lines close together are still a red line: the margin is over the best ordinary intent
    farming = Candidate("card_farming", None, 0.58, "fuzzy", kind="redline")
    low = Candidate("apply_pos", None, 0.30, "fuzzy", kind="symptom")
    assert decide([redline(0.60), farming, low]) == Decision("refuse", intent="identity_misuse", sure=False)


def test_a_red_line_that_nothing_else_fits_is_refused_below_the_refuse_score() -> None:
    from bot.core.decide import REFUSE_AT, REFUSE_LEAD, REFUSE_LEAD_AT

    def redline(score: float) -> Candidate:
        return Candidate("split_payment", None, score, "fuzzy", kind="redline")

    score = (REFUSE_LEAD_AT + REFUSE_AT) / 2
    # told in words no example has, a red line fits loosely; it is refused when nothing ordinary comes near
    far = Candidate("relocate_rebind", None, score - REFUSE_LEAD - 0.01, "fuzzy", kind="symptom")
    assert decide([redline(score), far]) == Decision("refuse", intent="split_payment", sure=False)
    # but an ordinary question close behind is not called fraud at a loose fit
    near = Candidate("transaction_limits", None, score - REFUSE_LEAD + 0.01, "fuzzy", kind="symptom")
    assert decide([redline(score), near]).kind != "refuse"
    # and below REFUSE_LEAD_AT a lead alone refuses nothing
    assert decide([redline(REFUSE_LEAD_AT - 0.01), Candidate("fee_rate", None, 0.1, "fuzzy")]).kind != "refuse"


def test_a_dialect_word_s_standard_form_is_no_domain_word(engine: Engine) -> None:
    # 哪里 is in the lexicon only as what 边度 means: "在哪里办" is no terminal question for it
    understood = engine.understand("下一届奥运会在哪里办")
    assert not understood.analysis.specific and understood.decision.kind == "fallback"
    # a terminal word still is one
    assert engine.understand("签到在哪里").analysis.specific


def test_a_red_line_is_read_in_what_the_merchant_says_did_not_happen(engine: Engine) -> None:
    # "没…就…" denies the first clause as the problem to match; for a red line no sale is the point
    assert engine.understand("没卖货 就刷五千 钱到我卡上").decision.kind == "refuse"
    # a denial proper still does not vote ("不是帮别人刷 是…")
    assert engine.understand("不是帮朋友刷 是我自己店里卖货 刷卡没反应").decision.kind != "refuse"


def test_red_lines_are_read_in_the_question_as_typed(engine: Engine) -> None:
    matcher = engine.matcher
    # a clause cut at a connective ("刷|不过去") is joined again as it was typed, so a pattern sees "刷不过去"
    text = "货款刷不过去 能不能分开刷"
    clauses = split_clauses(text)
    assert len(clauses) == 3 and match_module._told_text(text, clauses, clauses, []) == text
    # a word of a signal is not read across the merchant's own space ("客人多 刷卡" holds no 多刷)
    assert signals_module.break_positions("客人多 刷卡 pos 机") == [3]
    assert matcher.redline_signals.first("今天客人多 刷卡的也不少 现金收得少") is None
    assert matcher.redline_signals.first("多刷了一千 找他现金") == "cash_out"


def test_a_red_line_refused_on_a_loose_fit_is_not_sure() -> None:
    from bot.core.decide import REFUSE_SURE_AT

    def redline(score: float, via: str = "fuzzy") -> Candidate:
        return Candidate("cash_out", None, score, via, kind="redline")  # type: ignore[arg-type]  # via as a str

    ordinary = Candidate("transaction_lookup", None, 0.3, "fuzzy", kind="symptom")
    assert decide([redline(REFUSE_SURE_AT + 0.05), ordinary]) == Decision("refuse", intent="cash_out", sure=True)
    loose = decide([redline(REFUSE_SURE_AT - 0.05), ordinary])
    assert loose.kind == "refuse" and not loose.sure
    # close to an ordinary intent, even a good fit is worded as a question of what was meant
    close = Candidate("transaction_lookup", None, REFUSE_SURE_AT, "fuzzy", kind="symptom")
    assert not decide([redline(REFUSE_SURE_AT + 0.08), close]).sure
    # a pattern or a signal is sure
    assert decide([redline(1.0, "pattern"), close]).sure


def test_asking_for_reassurance_is_a_question_not_small_talk(engine: Engine) -> None:
    # "没事吧" closing a question asks whether what was done is all right: not "没事了", goodbye
    for question in ("顾客让我照他说的输 我照着输了 没事吧", "他叫我按他说的做 我就按了 没事吧"):
        understood = engine.understand(question)
        assert understood.decision.kind != "answer", understood.decision
    assert match_module._asks("照着输了 没事吧") and not match_module._asks("好吧")
    # 吧 elsewhere is small talk's own
    assert engine.understand("没事了 先这样").decision.intent == "goodbye"
    assert engine.understand("好吧 我再试试").decision.intent == "acknowledge"


def test_in_a_long_message_the_profile_weighs_more(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    # 维萨卡, 外卡, 银联卡就能刷 are foreign_cards' words; "刷了两次" is one phrase of duplicate_charge
    story = "我们店开在景区旁边 经常有外国游客来买东西 昨天一个客人拿的是维萨卡 刷了两次都不行 银联卡就能刷 是不是我这机器不支持外卡 要开通吗"
    assert sum("\u4e00" <= char <= "\u9fff" for char in story) >= match_module.LONG_MESSAGE
    assert engine.matcher.analyse(story).candidates[0].intent == "foreign_cards"
    monkeypatch.setattr(match_module, "LONG_PROFILE_SHARE", match_module.PROFILE_SHARE)
    assert engine.matcher.analyse(story).candidates[0].intent != "foreign_cards"


def test_token_sort_ratio_is_ratio_on_words_sorted_in_advance(engine: Engine) -> None:
    """match.sorted_words lets token_sort_ratio be computed as ratio: the same number, for questions' forms
    against phrases of every kind (examples, names, small talk, not_examples), Latin words and digits included."""
    import numpy as np
    from rapidfuzz import fuzz, process

    from bot.core.match import sorted_words

    matcher = engine.matcher
    phrases = matcher._texts[::7] + [form for forms in matcher._negatives.values() for form in forms]
    questions = [matcher.match_form(text) for text in (
        "刷卡 显示 A0 pos机 没反应", "pos机显示03 怎么办", "扣了两次钱 顾客说 卡里少了 268元",
        "sign in 失败 wifi 连不上", "你好 在吗", "b c a b", "机器 机器 坏了 坏了")] + phrases[:40]
    expected = process.cdist(questions, phrases, scorer=fuzz.token_sort_ratio, processor=None, dtype=np.float32)
    found = process.cdist([sorted_words(q) for q in questions], [sorted_words(p) for p in phrases],
                          scorer=fuzz.ratio, processor=None, dtype=np.float32)
    assert np.array_equal(expected, found)


def test_a_questions_cuts_are_jiebas_own(engine: Engine) -> None:
    """segment.Cuts: a text cut once, and clauses joined by spaces cut as their cuts side by side."""
    from bot.core.segment import Cuts

    segmenter = engine.matcher.segmenter
    clauses = ["我在超市用pos机扫顾客手机", "每个顾客都扫不出来", "刷卡倒是正常的 就是扫码这块一直不行", "", "wifi 5g"]
    cuts = Cuts(segmenter, clauses)
    joined = " ".join(clause for clause in clauses if clause)
    assert cuts.cut(joined) == segmenter.cut(joined)
    for clause in clauses:
        assert cuts.cut(clause) == segmenter.cut(clause)
    assert cuts.cut(clause) is cuts.cut(clause)
    assert Cuts(segmenter, ["签到失败"]).cut("签到失败") == segmenter.cut("签到失败")


def test_an_opener_is_not_the_answer_to_a_message_that_goes_on(engine: Engine) -> None:
    # a greeting clause is how a long or asking message starts: nothing else fitting does not make it one
    for question in ("您好，本人经营一家服装店，上周起每天傍晚终端就连不上后台，请问是否需要更换设备？",
                     "你好 我想问下那种大单子能不能分着收"):
        understood = engine.understand(question)
        assert understood.decision.intent not in ("greeting", "acknowledge", "praise"), understood.decision
    assert match_module._asks("请问是否需要更换设备") and match_module._asks("是否会被识别")
    # a greeting that says nothing more is still one, and so is an opener with another opener
    for question in ("您好", "你好 在吗", "老板在吗 问个事", "hello 在吗 anyone there"):
        assert engine.understand(question).decision.intent == "greeting", question
    assert engine.matcher._openers == {"greeting"}


def test_a_red_line_name_the_merchant_disowns_or_asks_about_does_not_refuse(engine: Engine) -> None:
    # what they did is read instead: an honest refund, a code, a settlement question
    for question, intent in (("我不搞套现的 就是顾客退货了 钱怎么原路退回去", "void_refund_reversal"),
                             ("这样算不算套现 客人买了东西第二天退货 我把钱退回他卡里", "void_refund_reversal"),
                             ("我们从来不养卡 就是机器老显示51 咋回事", "code_51")):
        understood = engine.understand(question)
        assert understood.decision.kind != "refuse" and understood.analysis.candidates[0].intent == intent, question
    # a red line is still one, however the merchant names or disowns it
    for question in ("我自己刷自己的信用卡 不算套现吧", "没套现啊 就是用自己的卡在自己机器上刷了几万", "怎么套现不被发现",
                     "教我怎么养卡"):
        assert engine.understand(question).decision.kind == "refuse", question


def test_the_disowner_takes_out_only_the_name_and_what_disowns_it() -> None:
    from bot.core.disowned import Disowner

    disown = Disowner(["套现", "养卡"])
    assert disown("我不搞套现 就是问退款").split() == ["就是问退款"]
    assert disown("这算不算套现呢").strip() == "这"
    assert disown("怎么套现") == "怎么套现"
    assert disown("不被发现地套现") == "不被发现地套现"
    assert disown("有没有代养卡的") == "有没有代养卡的" and disown("会不会套现") == "会不会套现"
    assert disown("支付宝说我疑似套现").strip() == "支付宝"
    assert Disowner([])("我不搞套现") == "我不搞套现"
    # news, hearsay, a suspicion, what became of those who did it, what the word means: the name goes, the rest stays
    assert disown("听说在严打套现 我们要注意啥").split() == ["听说在严打", "我们要注意啥"]
    assert disown("隔壁养卡套现被抓了").split() == ["隔壁", "了"]
    assert disown("养卡是什么意思").strip() == ""
    assert disown("短信提示疑似套现").strip() == "短信提示"
    # … unless the same message asks how to do it, or how to silence the warning
    assert disown("听说能套现 教教我") == "听说能套现 教教我"
    assert disown("老提示疑似套现 能关掉吗") == "老提示疑似套现 能关掉吗"


def test_an_offer_the_merchant_turned_down_is_no_request(engine: Engine) -> None:
    # told, then turned down ("我没答应", "没理他"): the question is what comes after
    for question in ("老乡叫我拿我的机器帮他把信用卡刷出来换现金 我没答应 今天机器开机黑屏 充电也没反应",
                     "有个人说借他的执照就能多办几台机器 我没理他 我自己想办一台正规的 要啥资料"):
        understood = engine.understand(question)
        assert understood.decision.kind != "refuse", question
    # hesitating is not turning down, and a refusal that asks about the act asks for it
    assert engine.understand("朋友想刷我的机器套点现金出来 我还没答应 这样可以吗").decision.kind == "refuse"
    assert engine.understand("客人要刷两万我转他一万九 我没敢弄 违规不").decision.kind == "refuse"
    assert match_module._TURNED_DOWN.search("我一直没答应") and match_module._TURNED_DOWN.search("后来想想算了")
    assert not match_module._TURNED_DOWN.search("我没敢弄")


def test_a_redirects_signal_offers_it_where_no_one_word_would(engine: Engine) -> None:
    # a card of the cardholder's own and what befell it, in any order and words apart
    for question in ("我自己的交行信用卡昨天弄丢了 要先干嘛", "顾客说他卡丢在出租车上了 问我能不能帮他挂失"):
        assert engine.understand(question).analysis.candidates[0].intent == "redirect_issuer", question
    # the terminal lost is the terminal's business, and a word of each group far apart is no signal
    assert engine.understand("刷卡机丢了 怕被人乱刷").analysis.candidates[0].intent != "redirect_issuer"
    signals = engine.matcher.redirect_signals
    assert signals.held("我的卡丢了") and not signals.held("我的卡" + "，这个月生意还行，就是店里人手不够" * 2 + "丢了")


def test_a_clause_disowning_a_red_line_neither_votes_nor_refuses(engine: Engine) -> None:
    # the merchant says what they do not do, then asks about something else
    understood = engine.understand("我可没帮人刷卡换过现金 就是这几天店里的机器突然不让交易了 为啥")
    assert understood.decision.kind != "refuse", understood.decision
    assert "cash_out" not in [c.intent for c in understood.analysis.candidates[:3]]
    assert engine.understand("机器单日限额才五万 怎么申请调高 不想让客人分两天刷").decision.kind != "refuse"
    # what did not happen, that is no red line itself, is still read for one ("没买东西" is the point)
    assert engine.understand("没买东西 就刷五千 钱到我卡上").decision.kind == "refuse"
    # nor is a worry about being caught a disowning: it is how evading risk control is asked
    assert engine.understand("我不想被风控 怎么拆开刷").decision.kind == "refuse"
    assert match_module._DISOWNING.search("我真没造假") and not match_module._DISOWNING.search("我不想被风控")
    # a clause that starts with what did not happen and asks for a red line is that request
    assert engine.understand("没卖东西能打一张刷卡小票出来不 客户就要个凭证").decision.kind == "refuse"


def test_which_forms_open_is_what_rank_lists_first(engine: Engine) -> None:
    """Matcher._opening (all of a message's forms in one rapidfuzz call) agrees with the first candidate of
    _rank([], [form]), with and without a small-talk example left out."""
    matcher = engine.matcher
    talk = [matcher._texts[int(phrase)] for phrase in matcher._talk]
    forms = [matcher.talk_form(text) for text in ("您好", "在吗", "你好 签到失败", "谢谢 再见", "好的", "嗯", "刷卡 没反应",
                                                  "哈哈哈", "abc", "")] + talk[::5]
    forms = [form for form in forms if form]
    greeting = next(intent for intent in engine.content.intents if intent.id == "greeting")
    for exclude in (None, ("greeting", "examples.0"), ("greeting", f"examples.{len(greeting.examples) - 1}")):
        expected = []
        for form in forms:
            ranked = matcher._rank([], [form], exclude=exclude)
            expected.append(bool(ranked) and ranked[0].intent in matcher._openers)
        assert matcher._opening(forms, exclude) == expected
        assert any(expected) and not all(expected)


def test_a_candidate_rescored_keeps_every_other_field() -> None:
    """match._scored stands for dataclasses.replace(candidate, score=...): a field added to Candidate must be
    passed on there too."""
    from dataclasses import fields, replace

    from bot.core.match import _scored

    values = {field.name: f"value of {field.name}" for field in fields(Candidate)}
    values["score"] = 0.5
    candidate = Candidate(**values)  # type: ignore[arg-type]
    assert _scored(candidate, 0.25) == replace(candidate, score=0.25)


def test_a_last_word_asking_about_what_was_told_is_not_an_ok(engine: Engine) -> None:
    """"…用e卡swipe一下 行吗" asks whether what it told is allowed: its 行 is no "OK" (it was answered 好的). After small
    talk, a one-word question still is small talk."""
    assert engine.understand("这个月的rent用e卡swipe一下 行吗").decision.intent != "acknowledge"
    assert engine.understand("人呢 有人吗").decision.intent == "greeting"
    assert engine.understand("好的 行").decision.intent == "acknowledge"

"""PII masking: numbers as speech and ASR write them, across utterances; non-identifiers stay readable."""

from __future__ import annotations

import re

import pytest

from qa_engine.pii import (
    PiiSpan,
    find_pii,
    find_pii_spans,
    mask_call,
    mask_finding,
    mask_text,
    mask_transcript,
    mask_utterance,
    may_continue,
    redact_transcript,
)
from qa_engine.types import Evidence, Finding, Transcript, Utterance, Word


def test_mobile_number_digits() -> None:
    assert mask_text("我的手机是13812345678") == "我的手机是***********"


def test_spoken_chinese_numerals_with_yao() -> None:
    assert mask_text("幺三八一二三四五六七八") == "*" * 11


def test_id_number_and_bank_card() -> None:
    assert mask_text("身份证110101199003071234") == "身份证" + "*" * 18
    assert mask_text("身份证11010119900307123X") == "身份证" + "*" * 18
    assert mask_text("卡号 6222 0212 3456 7890") == "卡号 **** **** **** ****"
    assert [m.kind for m in find_pii("身份证11010119900307123x，卡号6222021234567890123")] == ["id_number", "bank_card"]


def test_masking_keeps_length_and_separators() -> None:
    for s in ("138-1234-5678", "(555) 123-4567", "+86 138 1234 5678", "138.1234.5678"):
        masked = mask_text(s)
        assert len(masked) == len(s)
        assert not any(c.isdigit() for c in masked)
        assert [c for c in masked if c != "*"] == [c for c in s if not c.isdigit()]


# the ways of writing a number that leaked before (issue 16) and the ones that did not
LEAKED = [
    "号是1381235678",                       # ASR dropped a digit: 10 digits
    "您的手机号是18235678对吗?",             # 8 digits
    "138 - 1234 - 5678",
    "(138) 1234-5678",
    "5551234567",
    "幺三八两三四五六七八九",                 # 两 = 2
    "幺三八洞两三四五六七八",                 # 洞 = 0
    "壹叁捌壹贰叁肆伍陆柒捌",                 # 大写
    "138一二三四5678",                       # digits and numerals mixed
    "five five five, one two three four",
    "double one three eight one two three four five six seven",
    "oh seven nine one two three four five",
    "triple five, one two three four",
    "555-123-4567",
    "１３８１２３４５６７８",                   # full width
    "١٣٨١٢٣٤٥٦٧٨",                          # Arabic-Indic
    "१३८१२३४५६७८",                          # Devanagari
    "一三八 嗯 一二三四 五六七八",             # a filler in the middle
    "555 dash 123 dash 4567",
    "010-6543-2100",                        # landline
    "+86-13812345678",
    "138.1234.5678",
]


@pytest.mark.parametrize("spoken", LEAKED)
def test_every_digit_of_a_written_or_spoken_number_is_masked(spoken: str) -> None:
    masked = mask_text(spoken)
    assert len(masked) == len(spoken)
    units = [m for m in find_pii(spoken)]
    assert units, spoken
    assert not find_pii(masked)
    for word in ("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "oh"):
        assert word not in masked.split()
    assert not any(c.isdigit() or c in "一二三四五六七八九幺两洞壹贰叁肆伍陆柒捌玖" for c in masked), masked


@pytest.mark.parametrize("negative", [
    "两千四百九十九元", "您的套餐是每月2499元", "总共1,299.99元", "$1,299.99", "it will take 105 minutes",
    "八月二号", "2024年3月12日", "2024-03-12 10:30", "on March 12, 2024", "at 10:30-11:45",
    "1,234,567 users", "你这个月用了30G流量", "第3次", "三点半", "二零一五年", "I called 5 times",
    "37 pounds and 80 cents",
    "the train ID is TR8054", "工号3027", "电话费是2499", "the number of calls is 12345", "1000M宽带每年1200元",
])
def test_amounts_dates_times_durations_counts_stay_readable(negative: str) -> None:
    assert mask_text(negative) == negative


def test_short_numbers_after_a_cue_are_masked() -> None:
    assert mask_text("尾号5678") == "尾号****"
    assert mask_text("my card ending in 4321") == "my card ending in ****"
    assert mask_text("验证码是123456") == "验证码是******"
    assert mask_text("订单号20240312") == "订单号********"  # 8 digits: an identifier, whatever it numbers


# numbers read in pairs or groups, as English speakers read phone and card numbers and ASR writes them
PAIR_READ = [
    "five five five, twelve thirty-four",                # 555 1234
    "nineteen eighty-five twenty twenty",                # 1985 2020
    "forty-two eighteen sixty-seven ninety-one",         # 4218 6791
    "oh seven seven double nine, fifty-six eighty",      # 07799 5680
    "Twelve Thirty Four, Fifty Six Seventy Eight",       # capitals, tens and ones apart
    "eight hundred, five five five, one two three four",  # 800 555 1234: "eight hundred" joins the run
    "six one seven, four oh nine, eleven ten",           # 617 409 1110
]


@pytest.mark.parametrize("spoken", PAIR_READ)
def test_numbers_read_in_pairs_are_masked_every_character(spoken: str) -> None:
    before = "my number is "
    masked = mask_text(before + spoken + " thanks")
    assert masked.startswith(before) and masked.endswith(" thanks") and len(masked) == len(before + spoken) + 7
    assert not re.search(r"[A-Za-z0-9]", masked[len(before):-len(" thanks")]), masked
    assert [m.kind for m in find_pii(before + spoken)] == ["phone"]


def test_pairs_after_a_cue_need_four_digits() -> None:
    assert mask_text("card ending twelve thirty four") == "card ending ****** ****** ****"
    assert mask_text("last four twelve thirty-four") == "last four ****** ***********"  # the cue's "four" stays
    assert mask_text("the last four are 1234, ok") == "the last four are ****, ok"
    assert mask_text("last four 1234") == "last four ****"
    assert mask_text("my card ending twelve") == "my card ending twelve"  # 2 digits


@pytest.mark.parametrize("negative", [
    "twenty five dollars", "it took forty-five minutes", "you used thirty gigabytes", "on the twenty third",
    "it's nineteen ninety nine a month", "I called twenty times", "twenty twenty-four was a bad year",
    "one hundred and five dollars", "about fifteen or twenty people",
    "the phone bill was forty nine ninety nine dollars",
    "my card costs nineteen ninety nine a month", "between ten thirty and eleven", "I'm thirty-two, she's forty",
    "often listen to seventies music", "in nineteen ninety-five and twenty ten",
])
def test_pair_read_amounts_durations_counts_and_years_stay_readable(negative: str) -> None:
    assert mask_text(negative) == negative


def test_a_pair_read_number_split_over_two_utterances_is_masked() -> None:
    t = _call(Utterance(0, 2, "customer", "my number is five five five", channel=0),
              Utterance(2.2, 2.5, "agent", "okay", channel=1),
              Utterance(3, 5, "customer", "twelve thirty-four.", channel=0))
    assert [u.text for u in mask_transcript(t).utterances] == [
        "my number is **** **** ****", "okay", "****** ***********."]
    assert may_continue("it's five five five twelve") and may_continue("seventeen,") and not may_continue("plenty")
    cut = _call(Utterance(0, 2, "customer", "sure, eight", channel=0),
                Utterance(2.5, 5, "customer", "hundred three one oh fifty one zero three", channel=0))
    assert [u.text for u in mask_transcript(cut).utterances] == [
        "sure, *****", "******* ***** *** ** ***** *** **** *****"]


def test_email_addresses() -> None:
    assert mask_text("my email is john.smith@gmail.com ok") == "my email is ****.*****@*****.*** ok"
    assert mask_text("it's john dot smith at gmail dot com") == "it's **** *** ***** ** ***** *** ***"
    assert mask_text("邮箱是 zhangsan 艾特 163 点 com") != "邮箱是 zhangsan 艾特 163 点 com"
    assert mask_text("look at this, it's great.") == "look at this, it's great."


def test_words_split_number_masked() -> None:
    u = Utterance(0, 3, "customer", "138 1234 5678",
                  words=(Word(0, 1, "138"), Word(1, 2, " 1234"), Word(2, 3, " 5678")))
    m = mask_utterance(u)
    assert m.text == "*** **** ****"
    assert [w.word for w in m.words] == ["***", " ****", " ****"]


def _call(*utts: Utterance) -> Transcript:
    return Transcript(call_id="c", language="en", duration=60.0, utterances=utts)


def test_number_split_over_two_utterances_of_one_speaker() -> None:
    # SpokenWOZ SNG0072: the agent reads a number that ASR splits over two utterances
    t = _call(Utterance(10.0, 12.0, "agent", "the phone number is 122", channel=1,
                        words=(Word(10.0, 10.5, " the"), Word(10.5, 11.0, " phone"), Word(11.0, 11.3, " number"),
                               Word(11.3, 11.5, " is"), Word(11.5, 12.0, " 122"))),
              Utterance(12.2, 12.6, "customer", "okay", channel=0, words=(Word(12.2, 12.6, " okay"),)),
              Utterance(13.0, 15.0, "agent", "-324-7942.", channel=1,
                        words=(Word(13.0, 14.0, " -324"), Word(14.0, 15.0, "-7942."))))
    masked, spans = redact_transcript(t)
    assert [u.text for u in masked.utterances] == ["the phone number is ***", "okay", "-***-****."]
    assert [w.word for w in masked.utterances[2].words] == [" -***", "-****."]
    assert [w.word for w in masked.utterances[0].words][-1] == " ***"
    assert [(s.utterance_index, s.word_indices, s.start, s.end) for s in spans] == [
        (0, (4,), 11.5, 12.0), (2, (0, 1), 13.0, 15.0)]
    assert spans[0].group == spans[1].group and spans[0].kind == "phone"
    assert find_pii_spans(t) == spans
    assert mask_transcript(t) == masked


def test_split_numbers_need_the_same_speaker_and_a_short_gap() -> None:
    other = _call(Utterance(0, 2, "agent", "is 122", channel=1), Utterance(3, 5, "customer", "324 7942", channel=0))
    assert [u.text for u in mask_transcript(other).utterances] == ["is 122", "*** ****"]
    late = _call(Utterance(0, 2, "agent", "is 122", channel=1), Utterance(9, 11, "agent", "324 7942", channel=1))
    assert [u.text for u in mask_transcript(late).utterances] == ["is 122", "*** ****"]
    zh = _call(Utterance(0, 2, "customer", "我的手机号是138", channel=0), Utterance(2.5, 3, "agent", "嗯", channel=1),
               Utterance(3.5, 5, "customer", "嗯", channel=0), Utterance(5.2, 7, "customer", "1234，5678。", channel=0))
    assert [u.text for u in mask_transcript(zh).utterances] == ["我的手机号是***", "嗯", "嗯", "****，****。"]


def test_spans_without_word_timings_cover_the_utterance() -> None:
    t = _call(Utterance(1.0, 4.0, "customer", "my number is 555 123 4567"))
    assert find_pii_spans(t) == [PiiSpan(0, "phone", 1.0, 4.0, (), 1, exact=False)]


def test_text_and_words_are_masked_alike_when_they_differ() -> None:
    # Mandarin text has Whisper's spaces removed; the words keep them
    words = (Word(0, 1, "号是"), Word(1, 2, " 138"), Word(2, 3, " 1234"), Word(3, 4, " 5678"))
    u = Utterance(0, 4, "customer", "号是13812345678", words=words)
    m = mask_utterance(u)
    assert m.text == "号是***********"
    assert "".join(w.word for w in m.words) == "号是 *** **** ****"


def test_nothing_to_mask_returns_the_same_objects() -> None:
    t = _call(Utterance(0, 1, "agent", "hello, one moment please"), Utterance(1, 2, "customer", "两千四百九十九元"))
    assert mask_transcript(t) is t


def _finding(text: str, explanation: str) -> Finding:
    return Finding(rule_id="r", status="fail", weight=1.0, evidence=(Evidence(0.0, 1.0, text),),
                   explanation=explanation, data={"matched": [text]})


def test_findings_quote_utterances_as_the_transcript_masks_them() -> None:
    t = _call(Utterance(0, 2, "agent", "just to confirm, your number is 122", channel=1),
              Utterance(2.5, 4, "agent", "324 7942", channel=1))
    quote = "just to confirm, your number is 12…"
    masked, findings = mask_call(t, [_finding(t.utterances[0].text, f'The agent said "{quote}"')])
    f = findings[0]
    assert f.evidence[0].text == masked.utterances[0].text == "just to confirm, your number is ***"
    assert f.explanation == 'The agent said "just to confirm, your number is **…"'
    assert f.data == {"matched": ["just to confirm, your number is ***"]}
    plain = mask_finding(_finding("my number is 13812345678", "x"))
    assert plain.evidence[0].text == "my number is ***********"

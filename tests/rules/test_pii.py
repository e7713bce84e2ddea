"""PII masking: digits, spoken Chinese numerals, English digit words; never a full number out."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from qa_engine.pii import mask_text, mask_utterance
from qa_engine.types import Utterance, Word

CN = dict(zip("0123456789", "零一二三四五六七八九", strict=True))


def test_mobile_number_digits() -> None:
    assert mask_text("我的手机是13812345678") == "我的手机是138****5678"


def test_spoken_chinese_numerals_with_yao() -> None:
    assert mask_text("幺三八一二三四五六七八") == "幺三八****五六七八"


def test_id_number_and_bank_card() -> None:
    assert mask_text("身份证110101199003071234") == "身份证110***********1234"
    masked = mask_text("卡号 6222 0212 3456 7890")
    assert "6222 0212 3456 7890" not in masked and masked.endswith("7890")


def test_short_numbers_stay() -> None:
    assert mask_text("订单号20240312，工号3027") == "订单号20240312，工号3027"


def test_english_digit_words() -> None:
    masked = mask_text("it is five five five one two three four five six seven eight")
    assert "one two three four" not in masked


def test_words_split_number_masked() -> None:
    u = Utterance(0, 3, "customer", "138 1234 5678",
                  words=(Word(0, 1, "138"), Word(1, 2, " 1234"), Word(2, 3, " 5678")))
    m = mask_utterance(u)
    assert m.text == "138 **** 5678"
    assert [w.word for w in m.words] == ["138", " ****", " 5678"]


def _digits(text: str) -> str:
    table = {v: k for k, v in CN.items()} | {"幺": "1"}
    return "".join(table.get(c, c) for c in text if c.isdigit() or c in table)


phone = st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True)
id_number = st.from_regex(r"[1-6][0-9]{16}", fullmatch=True)
filler = st.text(alphabet=st.sampled_from(list("您好的号码是，。 abc请问")), max_size=12)


@settings(max_examples=150, deadline=None)
@given(number=st.one_of(phone, id_number), style=st.sampled_from(["digits", "cn", "spaced", "dashed"]),
       before=filler, after=filler)
def test_masking_never_leaks_a_full_number(number: str, style: str, before: str, after: str) -> None:
    if style == "cn":
        spoken = "".join(CN[d] for d in number)
    elif style == "spaced":
        spoken = " ".join(re.findall(r".{1,4}", number))
    elif style == "dashed":
        spoken = "-".join(re.findall(r".{1,3}", number))
    else:
        spoken = number
    masked = mask_text(before + spoken + after)
    assert number not in _digits(masked)
    assert len(masked) == len(before + spoken + after)

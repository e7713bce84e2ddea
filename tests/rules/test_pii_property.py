"""No identifier in a supported format survives masking (property tests, issue 16).

Identifiers (mobiles, landlines, US numbers, ID numbers with X, bank cards) are written in every
supported way (digits of any script, spoken Chinese numerals with 幺/两/洞, 大写, English words with
"double"/"triple"/"oh", mixed, grouped with spaces, dashes, dots, brackets, +86, spoken dashes
and fillers), put into Chinese or English sentences, alone or split over two utterances of the
same speaker, and masked.  No run of 4 or more consecutive digits of the identifier may be left,
in any script: in practice every digit of it must be masked.
"""

from __future__ import annotations

import re

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from qa_engine.pii import mask_text, mask_transcript
from qa_engine.types import Transcript, Utterance, Word

SCRIPTS = {
    "ascii": "0123456789",
    "fullwidth": "０１２３４５６７８９",
    "arabic": "٠١٢٣٤٥٦٧٨٩",
    "devanagari": "०१२३४५६७८९",
    "cn": "零一二三四五六七八九",
    "cn_spoken": "洞幺两三四五六拐八勾",
    "daxie": "零壹贰叁肆伍陆柒捌玖",
}
EN = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
DIGIT_OF: dict[str, str] = {ch: str(i) for chars in SCRIPTS.values() for i, ch in enumerate(chars)}
DIGIT_OF |= {"〇": "0", "○": "0", "两": "2", "兩": "2", "貳": "2"}
WORD_OF = {w: str(i) for i, w in enumerate(EN)} | {"oh": "0", "o": "0"}

ZH_BEFORE = ["我的手机号是", "您的号码是", "好的，", "身份证号是", "卡号", "电话：", "", "嗯，是", "我的是"]
ZH_AFTER = ["。", "，对吗？", "", "，您记一下", "，谢谢", "。套餐是每月58元。", "，八月二号办的"]
EN_BEFORE = ["my number is ", "it's ", "the card is ", "", "sure, ", "you can reach me at ", "my ID is "]
EN_AFTER = [".", ", correct?", "", " thanks", ". It costs $49.99 a month.", ", call after 10:30"]


@st.composite
def identifiers(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["mobile", "landline", "us", "id", "card"]))
    if kind == "mobile":
        return "1" + draw(st.sampled_from("3456789")) + draw(st.from_regex(r"[0-9]{9}", fullmatch=True))
    if kind == "landline":
        return draw(st.from_regex(r"[2-8][0-9]{6,7}", fullmatch=True))
    if kind == "us":
        return draw(st.from_regex(r"[2-9][0-9]{9}", fullmatch=True))
    if kind == "id":
        return draw(st.from_regex(r"[1-6][0-9]{16}[0-9X]", fullmatch=True))
    return draw(st.from_regex(r"[3-6][0-9]{15,18}", fullmatch=True))


@st.composite
def rendered(draw: st.DrawFn, number: str) -> tuple[str, str]:
    """The number as someone writes or says it, and "zh" or "en" for the sentence around it."""
    style = draw(st.sampled_from(["script", "mixed", "words"]))
    digits = number.rstrip("X")
    x = "X" if number.endswith("X") else ""
    if style == "words":
        units: list[str] = []
        i = 0
        while i < len(digits):
            d = digits[i]
            run = len(digits[i:]) - len(digits[i:].lstrip(d))
            n = draw(st.sampled_from([k for k in (3, 2, 1) if k <= run]))
            word = draw(st.sampled_from(["oh", "o", "zero"])) if d == "0" else EN[int(d)]
            units.append({3: "triple ", 2: "double ", 1: ""}[n] + word)
            i += n
        seps = draw(st.lists(st.sampled_from([" ", " ", ", ", " - ", " dash ", " uh "]), min_size=len(units),
                             max_size=len(units)))
        text = units[0] + "".join(s + u for s, u in zip(seps, units[1:], strict=False))
        return text + (" x" if x else ""), "en"
    if style == "script":
        script = draw(st.sampled_from(list(SCRIPTS)))
        chars = [SCRIPTS[script][int(d)] for d in digits]
    else:
        chars = [SCRIPTS[draw(st.sampled_from(list(SCRIPTS)))][int(d)] for d in digits]
    groups = draw(st.sampled_from(["none", "3-4-4", "4s", "3s"]))
    sep = draw(st.sampled_from([" ", "-", " - ", ".", "，", "、", " 嗯 "]))
    if groups == "none":
        body = "".join(chars)
    else:
        sizes = {"3-4-4": [3, 4, 4, 4, 4, 4], "4s": [4] * 5, "3s": [3] * 7}[groups]
        parts, i = [], 0
        for size in sizes:
            if i >= len(chars):
                break
            parts.append("".join(chars[i:i + size]))
            i += size
        body = sep.join(parts)
    if draw(st.booleans()) and len(digits) == 11:
        body = draw(st.sampled_from(["+86 ", "+86-", "(+86) "])) + body
    if draw(st.booleans()) and len(digits) == 10 and groups == "none":
        body = f"({body[:3]}) {body[3:6]}-{body[6:]}"
    chinese = any(c in "零一二三四五六七八九洞幺两拐勾壹贰叁肆伍陆柒捌玖" for c in body)
    return body + x, "zh" if chinese else draw(st.sampled_from(["zh", "en"]))


def _leftover_digits(masked: str) -> str:
    """The digits still readable in ``masked``, in order, each group of units split by anything else."""
    out: list[str] = []
    for token in re.findall(r"[A-Za-z]+|\S", masked):
        low = token.lower()
        if token in DIGIT_OF:
            out.append(DIGIT_OF[token])
        elif token.isdigit():
            out.append(str(int(token)) if len(token) == 1 else token)
        elif low in WORD_OF:
            out.append(WORD_OF[low])
        else:
            out.append("|")
    return "".join(out)


def _assert_no_run_survives(number: str, masked: str) -> None:
    digits = number.rstrip("X")
    left = _leftover_digits(masked)
    for i in range(len(digits) - 3):
        assert digits[i:i + 4] not in left, (number, masked)


@settings(max_examples=400, deadline=None)
@given(data=st.data(), number=identifiers())
def test_no_identifier_survives_in_one_utterance(data: st.DataObject, number: str) -> None:
    body, lang = data.draw(rendered(number))
    before = data.draw(st.sampled_from(ZH_BEFORE if lang == "zh" else EN_BEFORE))
    after = data.draw(st.sampled_from(ZH_AFTER if lang == "zh" else EN_AFTER))
    text = before + body + after
    masked = mask_text(text)
    assert len(masked) == len(text)
    assert not re.search(r"\d|[零一二三四五六七八九洞幺两拐勾壹贰叁肆伍陆柒捌玖]",
                         masked[len(before):len(before) + len(body)].replace("X", "")), (text, masked)
    _assert_no_run_survives(number, masked)


@settings(max_examples=300, deadline=None)
@given(data=st.data(), number=identifiers())
def test_no_identifier_survives_split_over_two_utterances(data: st.DataObject, number: str) -> None:
    body, lang = data.draw(rendered(number))
    # ASR splits between words, never inside one ("t" | "wo")
    cuts = [i for i in range(1, len(body)) if not (body[i - 1].isascii() and body[i - 1].isalpha()
                                                   and body[i].isascii() and body[i].isalpha())]
    cut = data.draw(st.sampled_from(cuts))
    first, second = body[:cut], body[cut:]
    assume(first.strip() and second.strip())
    before = data.draw(st.sampled_from(ZH_BEFORE if lang == "zh" else EN_BEFORE))
    after = data.draw(st.sampled_from(ZH_AFTER if lang == "zh" else EN_AFTER))
    gap = data.draw(st.floats(0.0, 4.5))
    backchannel = data.draw(st.booleans())
    a = before + first
    b = second + after
    words_a = tuple(Word(1.0 + i * 0.1, 1.1 + i * 0.1, w) for i, w in enumerate(re.findall(r"\s*\S+", a)))
    utts = [Utterance(1.0, 3.0, "customer", a, channel=0, words=words_a)]
    if backchannel:
        utts.append(Utterance(3.0 + gap / 2, 3.0 + gap / 2 + 0.2, "agent", "嗯" if lang == "zh" else "okay", channel=1))
    utts.append(Utterance(3.0 + gap, 6.0 + gap, "customer", b, channel=0,
                          words=tuple(Word(4.0 + i * 0.1, 4.1 + i * 0.1, w)
                                      for i, w in enumerate(re.findall(r"\s*\S+", b)))))
    t = Transcript(call_id="p", language=lang, duration=20.0, utterances=tuple(utts))
    m = mask_transcript(t)
    ma, mb = m.utterances[0], m.utterances[-1]
    _assert_no_run_survives(number, ma.text + " " + mb.text)
    _assert_no_run_survives(number, "".join(w.word for w in ma.words) + " " + "".join(w.word for w in mb.words))
    assert len(ma.text) == len(a) and len(mb.text) == len(b)

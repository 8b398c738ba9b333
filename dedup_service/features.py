"""Pure extraction of the facts a duplicate must agree on: figures and names.

Wire templates (earnings tables, bond issues, price postings) share most of their words
with each other and differ only in figures and company names. Two texts are copies of one
story only when the figures and names of the shorter one reappear in the longer one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import numpy.typing as npt
import xxhash

from .native import fast
from .normalize import SOLO_SCRIPTS, Line, ascii_digits

_DIGIT = re.compile(r"\d")
# function words that are capitalized at the start of a sentence, never names
_STOPWORDS = frozenset(
    """a an the and or but if then of in on at to for from by with as into about after before
    over under is are was were be been being it its he she they we you i his her their our
    this that these those there here which who whom what when where why how not no yes also
    mr mrs ms dr said says will would could should may might can has have had do does did""".split()
)
_STOP_BYTES = frozenset(w.encode() for w in _STOPWORDS)

# Numbers written over several tokens, each one figure: thousands grouped by spaces ("12 000",
# as French and Russian write them; lines are read with no-break and thin spaces made plain
# ones), ideographic numerals ("三千", "二十", "第三"; one numeral alone is also part of common
# words, 统一, 十分, 两岸, so it takes two or an ordinal's 第), and a digit figure's ideographic
# multiplier ("2.5万" is not "2.5亿"). Weekdays in the ideographic scripts are words of their
# own ("星期二", "火曜日"), found in _FACT_WORDS. The native core (fact_token_end) reads the same.
_NUMERALS = "〇零一二两三四五六七八九十百千万亿萬億兆"
_MULTIPLIERS = "十百千万亿萬億兆"
_JOINED = rf"[^\W{SOLO_SCRIPTS}]"
_TOKEN = re.compile(
    rf"(?:星期|礼拜|周)[一二三四五六日天]|[月火水木金土日]曜日?"
    rf"|第?[{_NUMERALS}]{{2,}}|第[{_NUMERALS}]"
    r"|[0-9]{1,3}(?: [0-9]{3})+(?:[.,][0-9]+)?(?!\w)"
    rf"|{_JOINED}+(?:['.,/-]{_JOINED}+)*(?:(?<=[0-9])[{_MULTIPLIERS}]+)?"
    rf"|(?=\w)[{SOLO_SCRIPTS}]"
)
_NUMERAL_START = frozenset("第" + _NUMERALS)
_JOINS = re.compile("['-]")

# Words that state a fact as figures do, each mapped to its value: small numbers that style
# guides spell out and re-takes re-key as digits ("ten" -> "10"; "one" is left out, far more
# often a pronoun), and weekdays and months in the agencies' languages, so that a weekly
# template filed on another day is told apart in every language. Left out: words that are
# mostly something else in their language ("may", "march"; Portuguese "segunda" is also
# "second"); ideographic months are digits or numerals before 月 and are figures already.
_WEEKDAYS = (
    "monday tuesday wednesday thursday friday saturday sunday",
    "lundi mardi mercredi jeudi vendredi samedi dimanche",
    "lunes martes miércoles jueves viernes sábado domingo",
    "_ _ miercoles _ _ sabado _",
    "segunda-feira terça-feira quarta-feira quinta-feira sexta-feira _ _",
    "_ terca-feira _ _ _ _ _",
    "montag dienstag mittwoch donnerstag freitag samstag sonntag",
    "_ _ _ _ _ sonnabend _",
    "lunedì martedì mercoledì giovedì venerdì sabato domenica",
    "понедельник вторник среда четверг пятница суббота воскресенье",
    "понедельника вторника среду четверга пятницу субботу воскресенья",
    "_ _ среды _ пятницы субботы _",
    "الاثنين الثلاثاء الأربعاء الخميس الجمعة السبت الأحد",
    "الإثنين _ الاربعاء _ _ _ الاحد",
    "월요일 화요일 수요일 목요일 금요일 토요일 일요일",
    "星期一 星期二 星期三 星期四 星期五 星期六 星期日",
    "周一 周二 周三 周四 周五 周六 周日",
    "礼拜一 礼拜二 礼拜三 礼拜四 礼拜五 礼拜六 礼拜日",
    "_ _ _ _ _ _ 星期天",
    "_ _ _ _ _ _ 礼拜天",
    "月曜日 火曜日 水曜日 木曜日 金曜日 土曜日 日曜日",
    "月曜 火曜 水曜 木曜 金曜 土曜 日曜",
)
_MONTHS = (
    "january february _ april _ june july august september october november december",
    "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
    "_ fevrier _ _ _ _ _ aout _ _ _ decembre",
    "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre",
    "_ _ _ _ _ _ _ _ setiembre _ _ _",
    "janeiro fevereiro março _ maio junho julho _ setembro outubro novembro dezembro",
    "januar februar märz _ _ juni juli _ _ oktober _ dezember",
    "jänner _ maerz _ _ _ _ _ _ _ _ _",
    "gennaio febbraio _ aprile maggio giugno luglio _ settembre ottobre _ dicembre",
    "январь февраль март апрель май июнь июль август сентябрь октябрь ноябрь декабрь",
    "января февраля марта апреля мая июня июля августа сентября октября ноября декабря",
    "январе феврале марте апреле мае июне июле августе сентябре октябре ноябре декабре",
    "يناير فبراير مارس أبريل مايو يونيو يوليو أغسطس سبتمبر أكتوبر نوفمبر ديسمبر",
    "_ _ _ ابريل _ _ _ اغسطس _ اكتوبر _ _",
    "_ شباط آذار نيسان أيار حزيران تموز _ أيلول _ _ _",
)


def _table(rows: tuple[str, ...], kind: str) -> dict[str, str]:
    """Each word of the rows mapped to ``kind`` and its column, counted from 1 ("_": none)."""
    return {w: f"{kind}:{i}" for row in rows for i, w in enumerate(row.split(), start=1) if w != "_"}


_FACT_WORDS = {
    **{w: str(n) for n, w in enumerate("two three four five six seven eight nine ten eleven twelve".split(), start=2)},
    **_table(_WEEKDAYS, "weekday"),
    **_table(_MONTHS, "month"),
}
_FACT_BYTES = {w.encode(): n.encode() for w, n in _FACT_WORDS.items()}  # as the native core takes them

U32 = npt.NDArray[np.uint32]
U16 = npt.NDArray[np.uint16]
# share of capitalized words in ordinary cased prose (news: about 0.1-0.4); outside it
# case says nothing about names
_CASED_SHARE = (0.06, 0.6)


def _hashes(tokens: Iterable[str]) -> U32:
    """32-bit hashes of distinct tokens, in order of first appearance."""
    h = xxhash.xxh32_intdigest
    return np.array(list(dict.fromkeys([h(t.encode()) for t in tokens])), dtype=np.uint32)


@dataclass(frozen=True, slots=True)
class Facts:
    """What a copy must agree on, as 32-bit hashes of case-folded tokens."""

    figures: U32  # tokens with a digit, in order of first appearance
    names: U32  # capitalized names, in order of first appearance (the first: the lead's subject)
    # every distinct word as a 16-bit key (see ``vocabulary_keys``), so a name can be
    # looked up whatever its case there
    vocabulary: U16


def facts(lines: list[Line]) -> Facts:
    """Figures, names and vocabulary of the lines as written (see ``facts_python``): native
    when built, the two agree value for value (tests/test_fingerprint.py)."""
    text = "\n".join(line.text for line in lines)
    if fast is None:
        return facts_python(text)
    figures, names, vocabulary = fast.facts(text, _FACT_BYTES, _STOP_BYTES, *_CASED_SHARE)
    return Facts(np.frombuffer(figures, np.uint32), np.frombuffer(names, np.uint32),
                 np.frombuffer(vocabulary, np.uint16))  # fmt: skip


def facts_python(text: str) -> Facts:
    """A figure is any token with a digit, an ideographic numeral, or a word that states
    one (``_FACT_WORDS``: a small number spelled out, a weekday, a month). A name is a
    capitalized token that is not a function word and never appears in lower case in the
    same text (so "The" and sentence-initial common words drop out, "Phillips" and "OPEC"
    stay). Texts whose case carries no information (all lower case, as old teletype copy,
    or all capitals) get no names: an empty set means "unknown", and the check is skipped.
    """
    tokens = list(dict.fromkeys(_TOKEN.findall(text)))
    figures = [f for t in tokens if (f := _figure(t)) is not None]
    has_digit = _DIGIT.search
    words = [t for t in tokens if t.isalpha() or not has_digit(t)]
    folded = [t.casefold() for t in words]
    figures += [n for t in folded if (n := fact_word(t))]
    vocabulary = vocabulary_keys(set(folded))
    capitalized = [t for t in words if t[0].isupper()]
    if not words or not _CASED_SHARE[0] <= len(capitalized) / len(words) <= _CASED_SHARE[1]:
        return Facts(_hashes(figures), _hashes(()), vocabulary)
    lower = {t for t in words if t.islower()}
    names = (t.casefold() for t in capitalized if (low := t.lower()) not in lower and low not in _STOPWORDS)
    return Facts(_hashes(figures), _hashes(names), vocabulary)


def _figure(token: str) -> str | None:
    """The number a token states, or None: an ideographic numeral as written; else the
    parts with digits ("50" of "50-mln-dlr"; a figure is the number itself, not the words
    hyphenated to it), digits of every script as ASCII."""
    if len(token) > 1 and token[0] in _NUMERAL_START:
        return token
    if token.isalpha() or not _DIGIT.search(token):  # most tokens: settled without the regex
        return None
    return ascii_digits("-".join(p for p in token.split("-") if _DIGIT.search(p)))


# a decimal point with other than three digits after it (three may group thousands:
# "1.184" is 1184 in German), or a fraction, whole or mixed
_DECIMAL = re.compile(r"(\d+)(?:\.(\d{1,2}|\d{4,}))?|(?:(\d+)-)?(\d+)/(\d+)")


def _value(figure: str) -> str:
    """A plain decimal or fraction as its value, the same however it was keyed ("0.50"
    and "1/2" are 0.5, "6-1/4" is 6.25: a wire re-take re-keys figures so); any other
    figure as written (a comma, or a point before three digits, may group thousands)."""
    m = _DECIMAL.fullmatch(figure)
    if m is None:
        return figure
    whole, part, mixed, num, den = m.groups()
    if num is None:
        value = Fraction(f"{whole}.{part or 0}")
    elif int(den) == 0:
        return figure
    else:
        value = int(mixed or 0) + Fraction(int(num), int(den))
    return str(value.numerator) if value.denominator == 1 else format(float(value), "g")


def fact_word(folded: str) -> str | None:
    """The fact a case-folded word states (``_FACT_WORDS``), or None. A word joined by
    apostrophes or hyphens states that of its first part that has one: a possessive
    ("thursday's"), an elision ("d'août"), a compound ("eight-billion-dlr" is 8, as
    "8-billion-dlr" is)."""
    if (fact := _FACT_WORDS.get(folded)) or ("'" not in folded and "-" not in folded):
        return fact
    return next((fact for part in _JOINS.split(folded) if (fact := _FACT_WORDS.get(part))), None)


def tokens(text: str) -> list[str]:
    """The tokens facts are read from: words, and figures with their inner punctuation
    ("6-1/8", "2,400", "50-mln-dlr") or written over several tokens ("12 000", "三千")."""
    return _TOKEN.findall(text)


def token_spans(text: str) -> list[tuple[int, int]]:
    """Where each of ``tokens`` lies in the text, as character offsets [start, end)."""
    return [m.span() for m in _TOKEN.finditer(text)]


def fact_keys(tokens: list[str]) -> list[str | None]:
    """For each token (``tokens``) of a text as written (not case-folded): the fact it
    states, by the rules of ``facts_python``: ``"#"`` and the figure ("#2.5", "#50" for
    "50-mln-dlr", "#10" for "ten", "#weekday:2" for "mardi"; a decimal or fraction as its
    value, "#0.5" for "0.50" and "1/2"), ``"@"`` and the case-folded name ("@phillips"),
    or None for any other word. Names are looked for only in texts whose case carries
    information."""
    has_digit = _DIGIT.search
    keys: list[str | None] = [None] * len(tokens)
    for i, t in enumerate(tokens):
        if (f := _figure(t)) is not None:
            keys[i] = "#" + _value(f)
        elif f := fact_word(t.casefold()):
            keys[i] = "#" + f
    words = [t for t in tokens if not has_digit(t)]
    capitalized = sum(1 for t in words if t[0].isupper())
    if not words or not _CASED_SHARE[0] <= capitalized / len(words) <= _CASED_SHARE[1]:
        return keys
    lower = {t for t in words if t.islower()}
    for i, t in enumerate(tokens):
        if keys[i] is None and t[0].isupper() and (low := t.lower()) not in lower and low not in _STOPWORDS:
            keys[i] = "@" + t.casefold()
    return keys


def vocabulary_keys(tokens: Iterable[str]) -> U16:
    """The top 16 bits of the tokens' hashes, sorted, each once: a vocabulary of a few
    hundred words then costs 2 bytes a word in the index, and a word absent from it is
    found by chance with probability (distinct keys) / 65536, well under 1%: for a share
    of names, noise."""
    h = xxhash.xxh32_intdigest
    return np.array(sorted({h(t.encode()) >> 16 for t in tokens}), dtype=np.uint16)


def contained_share(small: npt.NDArray[np.unsignedinteger], large: npt.NDArray[np.unsignedinteger]) -> float | None:
    """Share of ``small``'s items found in ``large``; None when ``small`` is empty."""
    if len(small) == 0:
        return None
    # plain sets: these arrays hold tens of items, where numpy's isin is mostly overhead
    return len(set(small.tolist()).intersection(large.tolist())) / len(small)

"""The native core (_fast.c) and the Python/numpy paths agree bit for bit: fingerprints and facts."""

from __future__ import annotations

import json
import os
import random

import numpy as np
import pytest
from conftest import SHARED

from dedup_service import constants as c
from dedup_service.candidate import Candidate
from dedup_service.classify import facts_agree
from dedup_service.estimates import screen_copies, screen_numpy
from dedup_service.features import Facts, facts, facts_python
from dedup_service.fingerprint import Fingerprinter
from dedup_service.normalize import fold, normalize, split_lines, split_lines_python
from dedup_service.thresholds import Thresholds

FP = Fingerprinter(num_perm=128, shingle_size=5, threshold=0.5, seed=1)
TRICKY = [
    "a",
    "one two three",
    "don't stop: u.s. prices rose 2,400 dlrs, 3.5 pct... to 1,000.",
    "trailing dot. leading 'quote' and comma, then ,, ,x x, 'tis",
    "snake_case words_with __under__ scores _",
    "naïve café über straße ﬁnance ½ ² ³ ⅷ",
    "东京证券交易所 日経平均 上昇 한국어 텍스트 العربية النص עברית",
    "combining a\u0301 e\u0300 marks and emoji 😀 🚀 stay apart",
    "tabs\tand\u00a0no-break\u2003spaces, hyphen-ated and slash/ed",
    " ".join(f"w{i}" for i in range(3000)),  # more anchors than MAX_ANCHORS
    "!!! ... ,,, ''' ---",  # no words at all
    # scripts without spaces (a token per character), digits of other scripts, marks dropped
    "新华社北京12月4日电 国家统计局４日发布，CPI上涨2.5%。「東京」カタカナ ﾊﾝｶｸ",
    "قال ١٢٣ مُحَمَّد ـــ ٤٫٥ مليار (أ ف ب) ۱۲",
    "שָׁלוֹם עוֹלָם 12 ראש הממשלה",
    "ราคา ๑๒๓ บาท ภาษาไทย ນະຄອນ ၁၂ ခ ១២ ខ្មែរ ᄀ 𠀀𠀁",
    "mixed日本語text, x١y 3ـ4 a\u064b\u064bb u.s.日本 don't日",
]


def _dev_texts(n: int) -> list[str]:
    """The first ``n`` texts of the evaluation data, or none when it is absent."""
    path = SHARED / "data" / "reuters_dev.articles.jsonl"
    if not path.exists():
        return []
    with path.open() as fh:
        return [json.loads(line)["text"] for _, line in zip(range(n), fh, strict=False)]


def _multilingual_texts(per_language: int) -> list[str]:
    """The first texts of each language of the multilingual data, or none when it is absent."""
    texts = []
    for path in sorted((SHARED / "data" / "multilingual").glob("*.jsonl")):
        with path.open() as fh:
            texts += [json.loads(line)["text"] for _, line in zip(range(per_language), fh, strict=False)]
    return texts


def _native_or_skip() -> None:
    if not FP.native:
        if os.environ.get("CI") == "true":
            pytest.fail("the native core (_fast.c) was not built: CI installs with a C compiler")
        pytest.skip("the native core (_fast.c) is not built here")


@pytest.mark.parametrize("text", TRICKY)
def test_native_core_matches_numpy_on_tricky_text(text: str) -> None:
    _native_or_skip()
    normalized = normalize(text)
    assert FP.core(normalized) == FP.core_numpy(normalized)


def test_native_core_matches_numpy_on_real_and_random_text() -> None:
    _native_or_skip()
    texts = _dev_texts(500) + _multilingual_texts(30)
    rng = random.Random(5)
    alphabet = "abc xyz.,'_-1234 ÄÖü日本\u0301\nก๑١\u064bـ"
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 400))) for _ in range(500)]
    for text in texts:
        normalized = " ".join(line.normalized for line in split_lines(text))
        assert FP.core(normalized) == FP.core_numpy(normalized), text[:80]


def test_anchors_are_capped_and_sorted() -> None:
    core = FP.core(" ".join(f"w{i}" for i in range(5000)))
    assert core is not None
    anchors = [int.from_bytes(core[4][i : i + 8], "little") for i in range(0, len(core[4]), 8)]
    assert len(anchors) == c.MAX_ANCHORS and anchors == sorted(set(anchors))
    assert all(a % c.DEFAULT_ANCHOR_SAMPLE == 0 for a in anchors)


def test_a_denser_anchor_sample_holds_the_sparser_one() -> None:
    """Anchors are phrases whose hash is 0 mod the sample: one in 4 holds every one of one in
    8 and about twice as many, natively and in numpy alike."""
    dense = Fingerprinter(num_perm=128, shingle_size=5, threshold=0.5, seed=1, anchor_sample=4)
    normalized = " ".join(f"w{i}" for i in range(600))
    sparse_core, dense_core = FP.core(normalized), dense.core(normalized)
    assert sparse_core is not None and dense_core is not None and dense_core == dense.core_numpy(normalized)
    sparse_anchors, dense_anchors = (set(np.frombuffer(core[4], "<u8").tolist()) for core in (sparse_core, dense_core))
    assert len(dense_anchors) < c.MAX_ANCHORS  # a text short enough to keep every anchor
    assert sparse_anchors < dense_anchors and all(a % 4 == 0 for a in dense_anchors)
    assert 1.6 < len(dense_anchors) / len(sparse_anchors) < 2.4
    assert dense_core[:4] == sparse_core[:4]  # words, text hash, signature and size do not depend on it


# case, hyphens and digits that are not ASCII: what ``facts`` looks at
CASED = [
    "Phillips Petroleum said it raised prices by 50 cts; phillips said The rise was ten pct.",
    "Société Générale and ÉDF met Ünal in Zürich; société said nothing. Straße STRASSE straße",
    "İstanbul and ΣΊΣΥΦΟΣ (final sigma), the ǅemal digraph ǅ ǆ Ǆ, ligatures ﬁnance ﬀ",
    "figures: 10-mln-dlr, 6-1/4, 50-cts-a-barrel, ½ and 5² (numeric, not decimal), ٣٤ and \uff13",
    "Ten TEN ten two-thirds Twelve eleven-year-old one",
    "ALL CAPITALS COPY FROM THE TELETYPE SAID PRICES ROSE 5 PCT",
    "all lower case copy from the teletype said prices rose 5 pct",
    "U.S. Treasury's Baker/Volcker talks, u.s officials' re-election",
    "",
    "!!! ,,, --- 123",
    "2,5 milliards, 1.184 euros, 12 000 and ١٢٫٥ and ۱۲ and １２３ and 新华社12月4日电 -- ٣-٤ mln",
    "1 234,56 12 000 000x 1234 567 9 999.5 12 000-strong 3 000 000 000,25 7 777,",
    "三千 第三 第 一些 统一 2.5万 12亿元 星期二 星期 周一 一周 火曜日 日曜 曜日 十二月 〇〇 兆",
    "mardi 4 décembre, Dienstag März MÄRZ, в среду 5 января, الثلاثاء, 화요일, Segunda-Feira, may march",
    "thursday's d'août l'an '' x' mi-août eight-billion-dlr -- two-'",
]


def _same_facts(a: Facts, b: Facts) -> bool:
    return all(getattr(a, f).tolist() == getattr(b, f).tolist() for f in ("figures", "names", "vocabulary"))


@pytest.mark.parametrize("text", CASED)
def test_native_facts_match_python_on_tricky_text(text: str) -> None:
    _native_or_skip()
    lines = split_lines(text)
    assert _same_facts(facts(lines), facts_python("\n".join(line.text for line in lines)))


def test_native_facts_match_python_on_real_and_random_text() -> None:
    _native_or_skip()
    texts = _dev_texts(2000) + _multilingual_texts(30)
    rng = random.Random(7)
    words = "Ten ten The the Phillips phillips OPEC U.S. 50-mln-dlr 6-1/4 İ ǅ Straße straße ٣ ½ said SAID a-b".split()
    words += ["日本", "٣-٤", "12 000", "三千", "第三", "星期二", "火曜日", "2.5万", "mardi", "März", "123 456,7"]
    words += ["thursday's", "d'août", "eight-billion"]
    alphabet = "aZ .,'/-_19ÄÖüß日\u0301\nก๑١\u064b三千第曜周期"
    for _ in range(1000):
        pieces = [rng.choice(words) if rng.random() < 0.5 else rng.choice(alphabet) for _ in range(rng.randrange(60))]
        texts.append(rng.choice(("", " ")).join(pieces))
    for text in texts:
        lines = split_lines(text)
        assert _same_facts(facts(lines), facts_python("\n".join(line.text for line in lines))), text[:80]


def test_native_screening_matches_numpy() -> None:
    """Same candidates kept, same estimates, on stories, their cut and edited copies and
    unrelated texts (a query against every other text, with anchors really shared)."""
    _native_or_skip()
    texts = [line for line in CASED if line] + TRICKY[:9]
    texts += _dev_texts(60)
    rng = random.Random(3)
    texts += ["\n".join(t.splitlines()[: rng.randrange(1, 8)]) + " Editors added this." for t in texts[:40]]
    fps = [FP(split_lines(t)) for t in texts if split_lines(t)]
    anchors = [set(np.frombuffer(fp.anchors, dtype="<u8").tolist()) for fp in fps]
    t = Thresholds()
    kept = 0
    for q, fp in enumerate(fps):
        cands = [Candidate.of(str(i), str(i), c.signature, c.text_hash, {}, "c", c.facts, len(anchors[q] & anchors[i]),
                              len(anchors[i])) for i, c in enumerate(fps) if i != q]  # fmt: skip
        native, numpy_path = screen_copies(fp, cands, len(anchors[q]), t), screen_numpy(fp, cands, len(anchors[q]), t)
        assert [row[0] for row in native] == [row[0] for row in numpy_path]
        assert np.allclose([row[1:] for row in native], [row[1:] for row in numpy_path], rtol=0, atol=1e-12)
        kept += len(native)
    assert kept > len(fps)  # copies and their originals were among them


def test_native_lines_match_python() -> None:
    """Every line break str.splitlines knows, whitespace str.split knows, folding that
    adds or removes a line break, repeated and wordless lines."""
    _native_or_skip()
    texts = (
        TRICKY + CASED + ["a\r\nb\rc\x0bd\x0ce\x1cf\x1dg\x1eh\x85i\u2028j\u2029k\n\na\n", "x\x1fy \u3000 z\u00a0w\t"]
    )
    rng = random.Random(11)
    alphabet = "ab C.'\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\u2028\u2029\u00a0\u3000\t½\ufb01\u2163١\u064b\u05b0ـ日"
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randrange(40))) for _ in range(3000)]
    texts += _dev_texts(500) + _multilingual_texts(30)
    for text in texts:
        assert split_lines(text) == split_lines_python(text, fold(text)), repr(text[:80])


def test_native_facts_check_matches_python() -> None:
    """On stories, their copies and look-alike templates: each pair both ways, with the
    thresholds in use and stricter ones, agreeing and disagreeing pairs both seen."""
    _native_or_skip()
    from dedup_service import _fast

    texts = [line for line in CASED if line]
    texts += _dev_texts(80)
    rng = random.Random(9)
    texts += ["\n".join(t.splitlines()[: rng.randrange(1, 6)]) for t in texts[:30]]
    texts += [t.replace("1", "7").replace("The ", "Acme ") for t in texts[:30]]
    fps = [FP(split_lines(t)) for t in texts if split_lines(t)]
    seen = set()
    for a in fps:
        for b in fps:
            small, large = (a, b) if a.signature.size <= b.signature.size else (b, a)
            for threshold, nearly_all in ((0.6, 0.9), (0.9, 1.0), (0.3, 0.5)):
                expected = facts_agree(small.facts, large.facts, threshold, nearly_all)
                assert _fast.agree(a.record, b.record, threshold, nearly_all) == expected
                seen.add(expected)
    assert seen == {True, False}

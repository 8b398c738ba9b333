"""Pure verification rules: containment estimates, the facts guard, relations."""

import numpy as np
import pytest

from dedup_service import constants as c_
from dedup_service.candidate import Candidate
from dedup_service.classify import (
    Thresholds,
    aligned_shares,
    containment,
    derived_containment,
    examine,
    facts_agree,
    verify,
)
from dedup_service.features import Facts, contained_share, facts
from dedup_service.fingerprint import Fingerprinter
from dedup_service.normalize import split_lines

FP = Fingerprinter(128, 5, 0.5, 1)
STORY = "\n".join(
    f"Line {i}: Acme Corp said on Tuesday its unit {i} shipped {i * 7} tonnes of copper to Rotterdam port."
    for i in range(40)
)


def _candidate(text: str) -> tuple[Candidate, int]:
    fp = FP(split_lines(text))
    anchors = len(fp.anchors) // 8
    return Candidate.of("1", "c", fp.signature, fp.text_hash, {}, "c1", fp.facts, 0, anchors), anchors


def _relate(query_text: str, cand_text: str) -> str | None:
    q = FP(split_lines(query_text))
    cand, _ = _candidate(cand_text)
    qa = set(np.frombuffer(q.anchors, "<u8").tolist())
    ca = set(np.frombuffer(FP(split_lines(cand_text)).anchors, "<u8").tolist())
    cand = Candidate.of(cand.iid, cand.id, cand.signature, cand.text_hash, {}, "c1", cand.facts, len(qa & ca), len(ca))
    matches = verify(q, [cand], len(qa), Thresholds())
    return matches[0].relation.value if matches else None


def test_derived_containment_of_a_subset() -> None:
    # A (100 shingles) inside B (400): J = 100/400
    assert derived_containment(0.25, 100, 400) == 1.0
    assert derived_containment(0.25, 400, 100) == 0.25


def test_containment_estimate_is_near_one_for_a_subset_and_low_for_disjoint() -> None:
    assert containment(0.25, 100, 400, shared=12, anchors_a=12, num_perm=128, shingle_size=5) > 0.95
    assert containment(0.0, 100, 400, shared=0, anchors_a=12, num_perm=128, shingle_size=5) < 0.5


def test_relations() -> None:
    lines = STORY.splitlines()
    assert _relate(STORY, STORY) == "exact"
    assert _relate("\n".join(lines[:16]), STORY) == "contained"
    assert _relate(STORY, "\n".join(lines[:16])) == "contains"
    assert _relate(STORY.replace("Tuesday", "Wednesday", 3), STORY) == "near_duplicate"
    unrelated = "\n".join(f"Rain fell on {i} villages near the coast overnight, officials said." for i in range(40))
    assert _relate(unrelated, STORY) is None


def test_same_template_other_company_and_figures_is_at_most_related() -> None:
    other = STORY.replace("Acme Corp", "Bolt Industries").replace("shipped", "shipped 1")
    assert _relate(other, STORY) in {None, "related"}


def test_facts_of_a_text() -> None:
    f = facts(
        split_lines("The Phillips Petroleum Co said it raised prices by 50 cts to 18.00 dlrs. The company said so.")
    )
    assert len(f.figures) == 2 and len(f.names) == 3  # phillips, petroleum, co
    lower = facts(split_lines("phillips petroleum co said it raised prices by 50 cts to 18.00 dlrs."))
    assert len(lower.names) == 0 and len(lower.vocabulary) > 0  # uncased text: names unknown


def test_facts_agree_looks_names_up_in_the_other_vocabulary() -> None:
    small = facts(split_lines("Phillips Petroleum raised crude postings by 50 cts, Phillips said."))
    same = facts(split_lines("phillips petroleum raised crude postings by 50 cts a barrel, the company said."))
    other = facts(split_lines("Citgo Petroleum raised crude postings by 50 cts, Citgo said."))
    assert facts_agree(small, same, 0.6, 0.9)
    assert not facts_agree(small, other, 0.6, 0.9)
    none = np.empty(0, dtype=np.uint32)
    assert facts_agree(Facts(none, none, none), other, 0.6, 0.9)
    assert contained_share(none, small.figures) is None


def test_a_rephrased_lead_name_is_forgiven_only_when_nearly_all_names_reappear() -> None:
    rest = " Senate Republican leader Robert Dole said Kansas and Iowa farmers would gain, Dole said."
    small = facts(split_lines("U.S." + rest))
    large = facts(split_lines("United States" + rest))
    assert contained_share(small.names[:1] >> np.uint32(16), large.vocabulary) == 0.0  # "u.s" is not there
    assert facts_agree(small, large, 0.6, 0.8)  # 6 of 7 names reappear
    assert not facts_agree(small, large, 0.6, 0.9)


def test_a_figure_is_the_number_without_words_hyphenated_to_it() -> None:
    def figures(text: str) -> list[int]:
        return facts(split_lines(text)).figures.tolist()

    assert figures("It approved a 50-mln-dlr budget.") == figures("It approved a 50 mln dlrs budget.")
    # a fraction stays whole
    assert figures("Funds traded at 6-1/4 pct.") != figures("Funds traded at 6 pct, then 1/4.")
    assert len(figures("A Boeing-747 and a 737-300 jet.")) == 2


def test_spelled_small_numbers_are_figures() -> None:
    def figures(text: str) -> list[int]:
        return facts(split_lines(text)).figures.tolist()

    assert figures("It sold ten aircraft.") == figures("It sold 10 aircraft.")
    assert figures("It sold two aircraft.") != figures("It sold three aircraft.")
    assert figures("One of its units sold aircraft.") == []  # "one" is mostly a pronoun


RELEASE = """Harbour Freight Lines said on Thursday it would buy four container ships from a Korean yard
for delivery next spring, adding capacity on its busy routes between Rotterdam and Singapore.
The company said the vessels, each able to carry about 9,000 boxes, would cost 410 mln dlrs in all
and would be paid for from cash and a new bank loan arranged by two Dutch lenders.
Chief executive Maria Olsen told reporters the order was the largest in the group's history
and that freight rates had recovered faster than analysts expected after a weak winter season.
Shares in the group rose three pct in Amsterdam after the announcement."""

# words a re-take drops here and there, each breaking the shingles and anchors around it
DROPPED = [
    "on Thursday ",
    "busy ",
    "about ",
    " in all",
    "new ",
    "Dutch ",
    "weak ",
    "Korean ",
    "next ",
    "Chief executive ",
]


def _retake(text: str, dropped: list[str]) -> str:
    """A re-edited, cut re-take: the last line gone and single words dropped here and there."""
    out = text.rsplit("\n", 1)[0]
    for word in dropped:
        assert word in out
        out = out.replace(word, "", 1)
    return out


def _verify(query_text: str, cand_text: str, texts: dict[str, str] | None) -> tuple[list[str], str | None]:
    q, c = FP(split_lines(query_text)), FP(split_lines(cand_text))
    qa, ca = set(np.frombuffer(q.anchors, "<u8").tolist()), set(np.frombuffer(c.anchors, "<u8").tolist())
    cand = Candidate.of("7", "c", c.signature, c.text_hash, {}, "c1", c.facts, len(qa & ca), len(ca))
    matches, unsure = examine(q, [cand], len(qa), Thresholds(), texts)
    return unsure, (matches[0].relation.value if matches else None)


def test_aligned_shares_count_the_words_each_text_keeps_in_order() -> None:
    assert aligned_shares("a b c d", "a b c d") == (1.0, 1.0)
    assert aligned_shares("a b c d", "x a b y c d z w") == (1.0, 0.5)
    assert aligned_shares("a b c d", "d c b a")[0] == 0.25  # order counts: one word aligns
    assert aligned_shares("", "a b") == (0.0, 0.0)


def test_an_estimate_between_related_and_copy_is_settled_by_the_stored_text() -> None:
    retake = _retake(RELEASE, DROPPED)
    # every word of the re-take is in the release, but each dropped word broke the
    # shingles and anchors around it: the sketches alone cannot call it a copy
    assert aligned_shares(retake, RELEASE)[0] == 1.0
    unsure, relation = _verify(retake, RELEASE, None)
    assert unsure == ["7"] and relation == "related"
    assert _verify(retake, RELEASE, {"7": RELEASE})[1] == "contained"


def test_a_template_in_the_undecided_band_is_not_measured() -> None:
    other = RELEASE.replace("Harbour Freight Lines", "Nordic Box Carriers").replace("410", "380")
    retake = _retake(other, DROPPED)
    assert _verify(retake, RELEASE, None) == ([], "related")  # other company, other price: facts disagree
    assert _verify(retake, RELEASE, {"7": RELEASE}) == ([], "related")


def test_long_texts_are_left_to_their_estimates(monkeypatch: pytest.MonkeyPatch) -> None:
    retake = _retake(RELEASE, DROPPED)
    assert _verify(retake, RELEASE, None)[0] == ["7"]
    monkeypatch.setattr(c_, "MAX_ALIGNED_WORDS", 50)  # as if both texts were long
    assert _verify(retake, RELEASE, None) == ([], "related")
    assert _verify(retake, RELEASE, {"7": RELEASE}) == ([], "related")


def test_texts_longer_than_the_alignment_bound_are_not_aligned(monkeypatch: pytest.MonkeyPatch) -> None:
    # the bound is on words, not on distinct shingles: a repetitive text has few of those
    assert aligned_shares("vs " * 900, "vs " * 899 + "cts") is not None
    monkeypatch.setattr(c_, "MAX_ALIGNED_WORDS", 100)
    assert aligned_shares("vs " * 101, "vs " * 50) is None
    assert aligned_shares("vs " * 100, "vs " * 50) == (0.5, 1.0)

"""Pure verification rules: containment estimates, the facts guard, relations."""

import numpy as np

from dedup_service.classify import Candidate, Thresholds, containment, derived_containment, facts_agree, verify
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
    return Candidate("1", "c", fp.signature, fp.text_hash, {}, "c1", fp.facts, 0, anchors), anchors


def _relate(query_text: str, cand_text: str) -> str | None:
    q = FP(split_lines(query_text))
    cand, _ = _candidate(cand_text)
    qa = set(np.frombuffer(q.anchors, "<u8").tolist())
    ca = set(np.frombuffer(FP(split_lines(cand_text)).anchors, "<u8").tolist())
    cand = Candidate(cand.iid, cand.id, cand.signature, cand.text_hash, {}, "c1", cand.facts, len(qa & ca), len(ca))
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

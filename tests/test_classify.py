"""Pure verification rules: containment estimates, the facts guard, relations."""

import random

import numpy as np

from dedup_service import constants as c_
from dedup_service.align import align, facts_agree_in_place, kept_phrases
from dedup_service.candidate import Candidate
from dedup_service.classify import could_be_copy, examine, facts_agree, verify
from dedup_service.constants import MAX_ALIGNED_WORDS
from dedup_service.estimates import containment, derived_containment, estimates
from dedup_service.features import Facts, contained_share, facts
from dedup_service.fingerprint import Fingerprinter
from dedup_service.normalize import split_lines
from dedup_service.thresholds import Thresholds

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


def _verify(
    query_text: str, cand_text: str, texts: dict[str, str] | None, t: Thresholds | None = None
) -> tuple[list[str], str | None]:
    q, c = FP(split_lines(query_text)), FP(split_lines(cand_text))
    qa, ca = set(np.frombuffer(q.anchors, "<u8").tolist()), set(np.frombuffer(c.anchors, "<u8").tolist())
    cand = Candidate.of("7", "c", c.signature, c.text_hash, {}, "c1", c.facts, len(qa & ca), len(ca))
    matches, unsure = examine(q, [cand], len(qa), t or Thresholds(), texts)
    return unsure, (matches[0].relation.value if matches else None)


def _shares(a: str, b: str, max_words: int = MAX_ALIGNED_WORDS) -> tuple[float, float] | None:
    aligned = align(a, b, 0.6, 0.9, max_words)
    return None if aligned is None else (aligned.share_a, aligned.share_b)


def test_aligned_shares_count_the_words_each_text_keeps_in_order() -> None:
    assert _shares("a b c d", "a b c d") == (1.0, 1.0)
    assert _shares("a b c d", "x a b y c d z w") == (1.0, 0.5)
    assert _shares("a b c d", "d c b a") == (0.25, 0.25)  # order counts: one word aligns
    assert _shares("", "a b") == (0.0, 0.0)


def test_an_estimate_between_related_and_copy_is_settled_by_the_stored_text() -> None:
    retake = _retake(RELEASE, DROPPED)
    # every word of the re-take is in the release, but each dropped word broke the
    # shingles and anchors around it: the sketches alone cannot call it a copy
    assert (_shares(retake, RELEASE) or (0.0,))[0] == 1.0
    unsure, relation = _verify(retake, RELEASE, None)
    assert unsure == ["7"] and relation == "related"
    assert _verify(retake, RELEASE, {"7": RELEASE})[1] == "contained"


def test_a_template_in_the_undecided_band_is_measured_and_stays_related() -> None:
    other = RELEASE.replace("Harbour Freight Lines", "Nordic Box Carriers").replace("410", "380")
    retake = _retake(other, DROPPED)
    # facts that differ as sets may be a site's headline or a dropped dateline: measured,
    # the alignment finds another company and price in the same places
    assert _verify(retake, RELEASE, None) == (["7"], "related")
    assert _verify(retake, RELEASE, {"7": RELEASE}) == ([], "related")


def test_long_texts_are_left_to_their_estimates() -> None:
    retake = _retake(RELEASE, DROPPED)
    assert _verify(retake, RELEASE, None)[0] == ["7"]
    short_bound = Thresholds(max_aligned_words=50)  # as if both texts were long
    assert _verify(retake, RELEASE, None, short_bound) == ([], "related")
    assert _verify(retake, RELEASE, {"7": RELEASE}, short_bound) == ([], "related")


def test_texts_longer_than_the_alignment_bound_are_not_aligned() -> None:
    # the bound is on words, not on distinct shingles: a repetitive text has few of those
    assert _shares("vs " * 900, "vs " * 899 + "cts") is not None
    assert _shares("vs " * 101, "vs " * 50, max_words=100) is None
    assert _shares("vs " * 100, "vs " * 50, max_words=100) == (0.5, 1.0)


def test_a_copy_that_rests_on_one_shared_anchor_is_measured() -> None:
    """Two Reuters stories about one company's management: the short one shares a single
    anchor with the longer, which the estimate reads as "wholly contained"."""
    import json

    from conftest import shared_file

    lines = shared_file("data/reuters_dev.articles.jsonl").read_text().splitlines()
    rows = {r["id"]: r["text"] for r in map(json.loads, lines)}
    resigns, names_new = rows["reuters-1004"], rows["reuters-10170"]
    assert _verify(resigns, names_new, None) == (["7"], "contained")  # the estimate, before measuring
    assert _verify(resigns, names_new, {"7": names_new})[1] not in {"contained", "contains", "near_duplicate"}


# RELEASE written again by a newspaper: sentences reordered and reworded, its facts and
# whole phrases kept
REWRITTEN = """Rotterdam-based Harbour Freight Lines is to buy four container ships from a Korean yard, the company said on Thursday.
The order, worth 410 mln dlrs, will be paid for from cash and a new bank loan.
Chief executive Maria Olsen said it was the largest order in the group's history, and that freight rates had recovered faster than analysts expected.
The vessels can each carry about 9,000 boxes and will be delivered next spring.
Shares rose three pct in Amsterdam."""  # noqa: E501

# the same event reported independently: its names and figures, hardly a phrase in common
REPORTED = """Harbour Freight Lines has ordered four ships costing 410 mln dlrs, its boss Maria Olsen confirmed.
The Dutch carrier wants more room on Asian routes as rates climb again; investors cheered and the stock gained three pct."""  # noqa: E501


def test_a_rewrite_is_measured_and_named_with_the_shares_of_phrases_each_side_kept() -> None:
    assert _verify(REWRITTEN, RELEASE, None) == (["7"], "related")  # the estimate, before measuring
    q, c = FP(split_lines(REWRITTEN)), FP(split_lines(RELEASE))
    qa, ca = set(np.frombuffer(q.anchors, "<u8").tolist()), set(np.frombuffer(c.anchors, "<u8").tolist())
    cand = Candidate.of("7", "c", c.signature, c.text_hash, {}, "c1", c.facts, len(qa & ca), len(ca))
    [match], _ = examine(q, [cand], len(qa), Thresholds(), {"7": RELEASE})
    aligned = align(REWRITTEN, RELEASE, 0.6, 0.9)
    assert aligned is not None and aligned.facts_agree
    assert match.relation.value == "rewrite"
    assert (match.containment, match.coverage) == (aligned.phrases_a, aligned.phrases_b)


def test_facts_that_a_rewrite_moves_agree_and_facts_a_template_replaces_do_not() -> None:
    story = ("The company said on Monday that its profit rose sharply in the third quarter, helped by strong sales"
             " in Asia, and that it would hire 500 workers.")  # fmt: skip
    moved = story.replace("on Monday", "in a statement").replace("workers.", "workers from Monday.")
    template = story.replace("500", "800")
    moved_aligned, template_aligned = align(moved, story, 0.6, 0.9), align(template, story, 0.6, 0.9)
    assert moved_aligned is not None and moved_aligned.facts_agree
    assert template_aligned is not None and not template_aligned.facts_agree


# a story of small numbers, and the same template filled in again: most of its new numbers
# are numbers the story also has, elsewhere
CRASH = """A bus carrying 42 passengers overturned on route 9 near the northern village early on the morning, police said, injuring 6 of them.
The bus had left the central station at 4 and crashed 12 km later, after the driver lost control on a sharp bend in heavy rain, a police spokesman told reporters at the scene.
Of the injured, 3 were taken to the regional hospital with serious injuries, and 2 were released after treatment, the hospital said in a short statement.
The road was closed for most of the day while investigators examined the wreck, and the regional traffic authority said it would review safety on the bend."""  # noqa: E501
CRASH_AGAIN = CRASH
for _old, _new in (("42", "45"), ("route 9", "route 12"), ("injuring 6", "injuring 9"), ("at 4", "at 6"),
                   ("12 km", "3 km"), ("3 were", "4 were"), ("2 were", "5 were")):  # fmt: skip
    CRASH_AGAIN = CRASH_AGAIN.replace(_old, _new)


def test_a_copy_with_figures_replaced_is_compared_in_place() -> None:
    assert _verify(CRASH_AGAIN, CRASH, None) == (["7"], "near_duplicate")  # the estimate, before measuring
    assert _verify(CRASH_AGAIN, CRASH, {"7": CRASH})[1] not in {"near_duplicate", "contained", "contains"}
    # a copy whose figures all reappear is not measured
    assert _verify(CRASH.replace("police said", "police told AFP"), CRASH, None) == ([], "near_duplicate")
    # below near-duplicate similarity too: the template inside a longer text
    longer = CRASH + "\n" + RELEASE
    assert _verify(CRASH_AGAIN, longer, None) == (["7"], "contained")
    assert _verify(CRASH_AGAIN, longer, {"7": longer})[1] == "related"
    assert _verify(CRASH, longer, None) == ([], "contained")


def test_a_copy_with_figures_of_its_own_is_compared_in_place_and_stays_a_copy() -> None:
    short_bound = Thresholds(max_aligned_words=50)  # any length: the texts are not aligned word by word
    assert _verify(CRASH_AGAIN, CRASH, {"7": CRASH}, short_bound)[1] == "related"
    # a site's copy: its own headline, with two figures the story lacks, of a story with a
    # last line the copy left out
    story = CRASH + "\nThe bend has seen 11 accidents since the road was opened to traffic."
    copy = "Bus crash: 48 hours of chaos for 500 travellers on the northern road\n" + CRASH
    assert _verify(copy, story, None, short_bound) == (["7"], "near_duplicate")
    assert _verify(copy, story, {"7": story}, short_bound)[1] == "near_duplicate"
    assert facts_agree_in_place(copy, story, 0.6) and not facts_agree_in_place(CRASH_AGAIN, CRASH, 0.6)
    # one figure of its own, as a dateline's day or a headline's figure, is not looked at
    one = "Bus crash: 48 hours of chaos on the northern road\n" + CRASH
    assert _verify(one, story, None, short_bound) == ([], "near_duplicate")


def test_an_independent_report_of_the_same_event_is_no_rewrite() -> None:
    assert _verify(REPORTED, RELEASE, {"7": RELEASE}) == ([], None)
    assert _verify(REPORTED, RELEASE, {"7": RELEASE}, Thresholds(max_aligned_words=50)) == ([], None)


# two of the release's sentences reworded, among sentences of the paper's own
PARTLY_REWRITTEN = "\n".join([
    *REWRITTEN.split("\n")[0:3:2],
    "Analysts at two Dutch banks said the purchase would strain the balance sheet for several years, while unions"
    " welcomed the promise of new jobs at the port.",
    "The company last ordered ships in 2019, when it bought two smaller feeder vessels from a yard in China.",
])  # fmt: skip


def test_a_rewrite_too_long_to_align_is_measured_by_its_phrases() -> None:
    article = PARTLY_REWRITTEN
    short_bound = Thresholds(max_aligned_words=50)  # both texts are over it
    assert _verify(article, RELEASE, None, short_bound) == (["7"], None)  # a possible rewrite, before measuring
    q, c = FP(split_lines(article)), FP(split_lines(RELEASE))
    qa, ca = set(np.frombuffer(q.anchors, "<u8").tolist()), set(np.frombuffer(c.anchors, "<u8").tolist())
    cand = Candidate.of("7", "c", c.signature, c.text_hash, {}, "c1", c.facts, len(qa & ca), len(ca))
    [match], _ = examine(q, [cand], len(qa), short_bound, {"7": RELEASE})
    assert match.relation.value == "rewrite"
    assert (match.containment, match.coverage) == (kept_phrases(article, RELEASE), kept_phrases(RELEASE, article))
    assert match.containment >= short_bound.rewrite
    # the whole release rewritten, which its estimates make related, is measured the same way;
    # the release with other figures in their places stays related (a template)
    assert _verify(REWRITTEN, RELEASE, None, short_bound) == (["7"], "related")
    assert _verify(REWRITTEN, RELEASE, {"7": RELEASE}, short_bound) == ([], "rewrite")
    other = RELEASE.replace("410", "520").replace("9,000", "7,500").replace("three pct", "five pct")
    assert _verify(REWRITTEN, other, {"7": other}, short_bound) == ([], "related")


def _candidates_of(query_text: str, texts: dict[str, str]) -> tuple[list[Candidate], int]:
    """Candidates as the index returns them: each with the anchors it shares with the query."""
    qa = set(np.frombuffer(FP(split_lines(query_text)).anchors, "<u8").tolist())
    out = []
    for iid, text in texts.items():
        fp = FP(split_lines(text))
        ca = set(np.frombuffer(fp.anchors, "<u8").tolist())
        out.append(Candidate.of(iid, iid, fp.signature, fp.text_hash, {}, "c" + iid, fp.facts, len(qa & ca), len(ca)))
    return out, len(qa)


def test_of_several_possible_sources_only_those_holding_most_of_its_phrases_are_measured() -> None:
    # the release cut to ever fewer sentences: each holds fewer of the rewrite's phrases
    sentences = RELEASE.split("\n")
    texts = {str(n): "\n".join(sentences[:n]) + "\nThe group also runs ferries in the Baltic." for n in range(7, 2, -1)}
    cands, searched = _candidates_of(REWRITTEN, texts)
    q = FP(split_lines(REWRITTEN))
    _, unsure = examine(q, cands, searched, Thresholds())
    shared = {c.iid: c.shared_anchors for c in cands}
    assert 0 < len(unsure) <= c_.REWRITE_SOURCES < len(cands)
    assert min(shared[i] for i in unsure) >= max(shared[i] for i in shared if i not in unsure)
    # told the texts, the measured ones settle (a rewrite of the longest release)
    matches, _ = examine(q, cands, searched, Thresholds(), {i: texts[i] for i in unsure})
    assert [m.relation.value for m in matches if m.id == "7"] == ["rewrite"]


def _estimates(query_text: str, cand_text: str) -> tuple[bool, float]:
    """Whether the estimates leave room for a copy, and the larger estimated containment."""
    q = FP(split_lines(query_text))
    [cand], searched = _candidates_of(query_text, {"1": cand_text})
    sims, c_q, c_c = estimates(q, [cand], searched, Thresholds())
    sim, cq, cc = float(sims[0]), float(c_q[0]), float(c_c[0])
    return could_be_copy(q, cand, sim, cq, cc, searched, Thresholds()), max(cq, cc)


def test_only_an_estimate_within_two_standard_errors_of_a_copy_is_measured_as_one() -> None:
    # long texts (a hundred anchors and more) pin the estimate: related whatever the
    # facts say; two short texts' estimate is loose
    rng = random.Random(5)
    vocabulary = [f"w{i}" for i in range(3000)]  # distinct words: every 3-word phrase is its own

    def lines(n: int) -> list[str]:
        return [" ".join(rng.choices(vocabulary, k=12)) + "." for _ in range(n)]

    # a third of each text shared: as scattered edits, about 0.8 of the words kept
    body, extra = lines(90), lines(60)
    could, share = _estimates("\n".join(body[:30] + extra), "\n".join(body))
    assert 0.7 <= share < 0.85 and not could
    # 36 words, two thirds of them in the long story: a few anchors, and a Jaccard over texts
    # of unequal size, cannot pin the estimate
    could, share = _estimates("\n".join(body[:2] + extra[:1]), "\n".join(body))
    assert 0.7 <= share < 0.9 and could


def test_of_possible_sources_holding_as_many_phrases_the_most_similar_are_measured() -> None:
    """A short article shares as many sampled phrases with its source as with stories of
    the same desk: the signature's similarity, which a rewrite keeps some of, decides."""
    rng = random.Random(3)
    vocabulary = [f"w{i}" for i in range(500)]
    desk = {str(i): "\n".join(" ".join(rng.choices(vocabulary, k=12)) + "." for _ in range(10)) for i in range(3)}
    found, searched = _candidates_of(PARTLY_REWRITTEN, {**desk, "7": RELEASE})
    tied = 1  # one sampled phrase each, as a short article often shares with a desk's stories
    cands = [Candidate(c.iid, c.id, c.record, c.text_hash, b"{}", c.cluster_id, tied, c.anchors)
             for c in found]  # as many phrases each: a tie  # fmt: skip
    q = FP(split_lines(PARTLY_REWRITTEN))
    _, unsure = examine(q, cands, searched, Thresholds())
    assert "7" in unsure and len(unsure) == c_.REWRITE_SOURCES < len(cands)
    matches, _ = examine(q, cands, searched, Thresholds(), {**desk, "7": RELEASE})
    assert [m.relation.value for m in matches if m.id == "7"] == ["rewrite"]

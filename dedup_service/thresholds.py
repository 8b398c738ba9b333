"""What each relation requires: the documented thresholds of a verdict."""

from __future__ import annotations

from dataclasses import dataclass

from . import constants as c_


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Decision thresholds. ``near`` is a Jaccard threshold on shingles (as configured);
    the others are on the estimated share of words (see ``containment``).

    - contained 0.9: "nine in ten words of the smaller text reappear in the larger",
      a cut-down or extended copy allowing for figures re-keyed and a sentence re-edited;
    - related 0.7: far above the share unrelated news shares by chance, well below a copy;
    - facts: the share of the smaller text's figures, and of its names, that must
      reappear in the larger for any copy verdict;
    - size_ratio: with a high Jaccard, the smaller text must have at most this share of
      the larger's shingles to be called a cut-down copy rather than a near duplicate;
    - min_words: below near-duplicate similarity, the smaller text must have at least this
      many words: an excerpt of 25 words (a lede, a teaser) is a copy of its story,
      while a line or two (a headline, a stock phrase) says too little to be one;
    - rewrite 1/8: the share of the incoming article's 3-word phrases found verbatim in
      the match for the article to be a rewrite of it (written from it, reordered and
      reworded). Independent reports of one event share its names and quotes, well under
      one phrase in eight; a rewrite keeps whole phrases of its source. Of the candidates
      whose sampled phrases (anchors) reach half of it, the REWRITE_SOURCES holding the
      most are measured on their texts.
    - template_facts 1/3: a measured pair with ``related`` of the words in place whose facts
      disagree is a template (``related``), not a rewrite, when a third or more of the
      words it substitutes inside sentences are facts: a template swaps a figure with its
      unit ("1.23 dlrs" for "98 cts") or a name, and a rewrite rewords its source around
      the same facts.
    """

    near: float = 0.5
    contained: float = 0.9
    related: float = 0.7
    facts: float = 0.6
    size_ratio: float = 0.8
    min_words: int = c_.MIN_COPY_WORDS
    rewrite: float = c_.REWRITE_PHRASE_SHARE
    template_facts: float = 1 / 3
    shingle_size: int = 5
    max_aligned_words: int = c_.MAX_ALIGNED_WORDS

    @property
    def rewrite_screen(self) -> float:
        """The estimated phrase share (from the anchor sample) worth measuring."""
        return self.rewrite / 2

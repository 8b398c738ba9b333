"""Site copies of agency stories: the edits that sites make when they republish wire copy.

Each edit type is one thing a site does; ``combined`` is what most sites do at once (their
own headline, the dateline gone, a credit line). Stories are real text read at run time;
only the edits are generated. The strings below are the forms seen on real sites.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

HEADLINE_EDITS = ("headline", "standfirst")
DATELINE_EDITS = ("dateline_dropped", "dateline_restyled")
COPY_EDITS = (*HEADLINE_EDITS, *DATELINE_EDITS, "credit", "inserted", "cut", "reflowed", "wording", "combined")
EXCERPT_EDITS = ("lede", "run")  # an excerpt of 25 words or more: ``contained`` in its story
EDITS = (*COPY_EDITS, *EXCERPT_EDITS)

CREDITS = ("With {a}", "({a})", "© {a}", "Avec {a}", "(EFE)", "© dpa-infocom", "{a} contributed to this report.")
INSERTS = ("Read more: {t}", "Advertisement", "Lire aussi : {t}", "RELATED: {t}")
# light wording edits that sites and sub-editors make (pattern, replacement)
WORDING = ((r"\bsaid\b", "told reporters"), (r"\bper cent\b", "percent"), (r"\bpct\b", "percent"),
           (r"\bbn\b", "billion"), (r"\bmln\b", "million"), (r"\bUS\b", "U.S."), (r"\bU\.S\.", "US"))  # fmt: skip
MIN_EXCERPT_WORDS = 25


@dataclass(frozen=True)
class Story:
    id: str
    title: str
    place: str  # the dateline's place, "HOUSTON"
    dateline: str  # "HOUSTON, Feb 26"
    agency: str
    paragraphs: list[str]

    def original(self) -> str:
        """The agency's own copy: dateline and agency on the first paragraph."""
        first = f"{self.dateline} ({self.agency}) - {self.paragraphs[0]}"
        return "\n\n".join([first, *self.paragraphs[1:]])


def paragraphs(text: str) -> list[str]:
    """Paragraphs of wire text: blank lines or indented lines start one; hard-wrapped
    lines inside a paragraph are joined."""
    parts = re.split(r"\n\s*\n|\n(?=[ \t]{2,})", text.strip())
    return [" ".join(p.split()) for p in parts if p.strip()]


def _words(paras: list[str]) -> int:
    return sum(len(p.split()) for p in paras)


def _sentence_case(title: str) -> str:
    return title[:1].upper() + title[1:].lower() if title.isupper() else title


def site_copy(story: Story, edit: str, rng: random.Random, other_titles: list[str]) -> str:
    """One site copy of ``story`` with the edit ``edit`` (see ``EDITS``)."""
    paras = list(story.paragraphs)
    body = [f"{story.dateline} ({story.agency}) - {paras[0]}", *paras[1:]]
    if edit == "headline":
        return "\n\n".join([_sentence_case(story.title), *body])
    if edit == "standfirst":
        lead = " ".join(paras[0].split()[:14]).rstrip(",;") + "..."
        return "\n\n".join([_sentence_case(story.title), lead, *body])
    if edit == "dateline_dropped":
        return "\n\n".join(paras)
    if edit == "dateline_restyled":
        style = rng.choice([f"{story.place.title()}, {story.dateline.split(',')[-1].strip()} —",
                            f"{story.place.title()}.", f"{story.place.upper()} -"])  # fmt: skip
        return "\n\n".join([f"{style} {paras[0]}", *paras[1:]])
    if edit == "credit":
        return "\n\n".join([*body, rng.choice(CREDITS).format(a=story.agency)])
    if edit == "inserted":
        out = list(body)
        for _ in range(2):
            line = rng.choice(INSERTS).format(t=_sentence_case(rng.choice(other_titles)))
            out.insert(rng.randint(1, len(out)), line)
        return "\n\n".join(out)
    if edit == "cut":
        keep = max(1, round(len(body) * rng.uniform(0.4, 0.8)))
        return "\n\n".join(body[:keep])
    if edit == "reflowed":
        words = "\n\n".join(body).split()
        lines, line = [], []
        for w in words:  # hard-wrapped at another width, paragraphs merged
            line.append(w)
            if sum(len(x) + 1 for x in line) > rng.choice([60, 72]):
                lines.append(" ".join(line))
                line = []
        return "\n".join([*lines, " ".join(line)])
    if edit == "wording":
        text = "\n\n".join(body)
        for pattern, repl in WORDING:
            text = re.sub(pattern, repl, text)
        return text
    if edit == "combined":
        text = "\n\n".join([_sentence_case(story.title), *paras, rng.choice(CREDITS).format(a=story.agency)])
        return re.sub(r"\bsaid\b", "told reporters", text, count=1)
    if edit == "lede":
        n = next(k for k in range(1, len(paras) + 1) if _words(paras[:k]) >= MIN_EXCERPT_WORDS)
        return "\n\n".join(paras[:n])
    if edit == "run":  # from a paragraph after the lede with 25 words or more after it
        start = rng.choice([i for i in range(1, len(paras)) if _words(paras[i:]) >= MIN_EXCERPT_WORDS])
        n = next(k for k in range(1, len(paras) - start + 1) if _words(paras[start : start + k]) >= MIN_EXCERPT_WORDS)
        return "\n\n".join(paras[start : start + n])
    raise ValueError(f"unknown edit {edit!r}")


def excerptable(story: Story) -> bool:
    """Stories the generator takes: at least four paragraphs and 120 words, so that every
    edit (a cut to 40%, an excerpt from the middle) leaves a real part of the story."""
    return len(story.paragraphs) >= 4 and _words(story.paragraphs) >= 120 and _words(story.paragraphs[1:]) >= 40

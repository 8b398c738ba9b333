"""Site copies of agency stories in nine languages: the edits of ``sitecopies.py``, in each
language's own forms (its agency's dateline and credit, its "read also" lines).

Stories are real news text (../shared/data/multilingual), read at run time; each is turned
into an agency original by putting the language's agency dateline on its first paragraph.
Texts that come as one block are cut into paragraphs of two sentences.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from pathlib import Path

EDITS = ("headline", "dateline_dropped", "credit", "inserted", "cut", "reflowed", "combined")


@dataclass(frozen=True)
class Language:
    code: str
    dateline: str  # the agency's dateline, put before the first paragraph
    credits: tuple[str, ...]  # credit lines that sites add at the end
    related: str  # a "read also" line, "{t}" the title of another story
    spaced: bool = True  # words are separated by spaces


LANGUAGES = {
    lang.code: lang
    for lang in (
        Language("fr", "PARIS (AFP) - ", ("Avec AFP", "(AFP)", "© AFP"), "Lire aussi : {t}"),
        Language("es", "MADRID (EFE).- ", ("(EFE)", "Con EFE", "EFE"), "Lea también: {t}"),
        Language("de", "Berlin (dpa) - ", ("© dpa-infocom", "(dpa)", "Mit dpa"), "Lesen Sie auch: {t}"),
        Language("pt", "LISBOA (Lusa) - ", ("(Lusa)", "Com Lusa", "Lusa"), "Leia também: {t}"),
        Language("ru", "МОСКВА, 4 декабря. /ТАСС/. ", ("ТАСС", "(ТАСС)"), "Читайте также: {t}"),
        Language("ar", "الرياض (واس) - ", ("(واس)", "واس"), "اقرأ أيضا: {t}"),
        Language("ko", "(서울=연합뉴스) 홍길동 기자 = ", ("연합뉴스", "(연합뉴스)"), "관련기사 {t}"),
        Language("zh", "新华社北京12月4日电 ", ("（新华社）", "来源：新华社"), "相关阅读：{t}", spaced=False),
        Language("ja", "【東京共同】", ("（共同通信）", "共同通信"), "関連記事：{t}", spaced=False),
    )
}
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s*")


@dataclass(frozen=True)
class Story:
    id: str
    lang: Language
    title: str
    paragraphs: list[str]

    def original(self) -> str:
        """The agency's own copy: its dateline on the first paragraph."""
        return "\n\n".join([self.lang.dateline + self.paragraphs[0], *self.paragraphs[1:]])


def length(text: str, lang: Language) -> int:
    """Words, or characters where words are not spaced."""
    return len(text.split()) if lang.spaced else len("".join(text.split()))


def paragraphs(text: str) -> list[str]:
    """The text's lines; a text of fewer than four is cut into paragraphs of two sentences,
    or, with no sentence punctuation (the Korean sample has none), of 40 words."""
    lines = [" ".join(x.split()) for x in text.splitlines() if x.strip()]
    if len(lines) >= 4:
        return lines
    sentences = [s for s in _SENTENCE_END.split(" ".join(lines)) if s.strip()]
    if len(sentences) < 8:
        words = " ".join(lines).split()
        return [" ".join(words[i : i + 40]) for i in range(0, len(words), 40)]
    return [" ".join(sentences[i : i + 2]).strip() for i in range(0, len(sentences), 2)]


def stories(path: Path, lang: Language, min_length: int) -> list[Story]:
    """The file's articles with four paragraphs or more and ``min_length`` words
    (characters where words are not spaced)."""
    out = []
    with path.open() as fh:
        for row in map(json.loads, fh):
            paras = paragraphs(row["text"])
            if len(paras) >= 4 and length(" ".join(paras), lang) >= min_length:
                out.append(Story(str(row["id"]), lang, row.get("title") or "", paras))
    return out


def _headline(story: Story) -> str:
    """The story's title, or, with none, the start of its first sentence as a site would cut it."""
    if story.title:
        return story.title
    first = _SENTENCE_END.split(story.paragraphs[0])[0]
    return " ".join(first.split()[:8]) if story.lang.spaced else first[:20]


def site_copy(story: Story, edit: str, rng: random.Random, other_titles: list[str]) -> str:
    """One site copy of ``story`` with the edit ``edit`` (see ``EDITS``)."""
    lang, paras = story.lang, list(story.paragraphs)
    body = [lang.dateline + paras[0], *paras[1:]]
    if edit == "headline":
        return "\n\n".join([_headline(story), *body])
    if edit == "dateline_dropped":
        return "\n\n".join(paras)
    if edit == "credit":
        return "\n\n".join([*body, rng.choice(lang.credits)])
    if edit == "inserted":
        out = list(body)
        for _ in range(2):
            out.insert(rng.randint(1, len(out)), lang.related.format(t=rng.choice(other_titles)))
        return "\n\n".join(out)
    if edit == "cut":
        keep = max(2, round(len(body) * rng.uniform(0.5, 0.8)))
        return "\n\n".join(body[:keep])
    if edit == "reflowed":  # hard-wrapped at another width, paragraphs merged
        text = " ".join(body)
        width = rng.choice([60, 72]) if lang.spaced else rng.choice([30, 36])
        if not lang.spaced:
            return "\n".join(_wrap_unspaced(text, width))
        lines, line = [], []
        for w in text.split():
            line.append(w)
            if sum(len(x) + 1 for x in line) > width:
                lines.append(" ".join(line))
                line = []
        return "\n".join([*lines, " ".join(line)])
    if edit == "combined":  # what most sites do at once
        return "\n\n".join([_headline(story), *paras, rng.choice(lang.credits)])
    raise ValueError(f"unknown edit {edit!r}")


_NUMBER = re.compile(r"\d+")
MIN_TEMPLATE_FIGURES = 3
TEMPLATE_WORDS_PER_FIGURE = 40  # characters: twice as many


def _wrap_unspaced(text: str, width: int) -> list[str]:
    """Lines of ``width`` characters, as a wrapper for unspaced scripts cuts them: between
    any two characters except inside a run of letters or digits of a spaced script
    ("2011", "CPI"), which Unicode's line breaking rules (UAX #14) keep whole."""
    lines, start = [], 0
    while start < len(text):
        end = min(start + width, len(text))
        while 0 < end < len(text) and text[end - 1].isascii() and text[end - 1].isalnum() and text[end].isascii() \
                and text[end].isalnum():  # fmt: skip
            end += 1
        lines.append(text[start:end])
        start = end
    return lines


def template_of(story: Story, rng: random.Random) -> str | None:
    """The same text with other figures: what a template story (the next month's price
    index, another company's results) looks like. Every number of the body is changed.
    None for a story whose figures do not carry it (fewer than MIN_TEMPLATE_FIGURES, or
    fewer than one per TEMPLATE_WORDS_PER_FIGURE words): a long text with other figures
    in one sentence is a corrected copy, not another story."""
    body = "\n\n".join(story.paragraphs)
    figures = len(_NUMBER.findall(body))
    per = TEMPLATE_WORDS_PER_FIGURE * (1 if story.lang.spaced else 2)
    if figures < MIN_TEMPLATE_FIGURES or figures * per < length(body, story.lang):
        return None
    changed = _NUMBER.sub(lambda m: str(int(m.group()) + rng.randint(1, 9)), body)
    return story.lang.dateline + changed

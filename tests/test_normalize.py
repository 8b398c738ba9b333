import random
import unicodedata

from dedup_service.normalize import CHAR_MAP, fold, normalize, split_lines, split_lines_python, words


def test_quotes_dashes_case_and_spaces_are_unified() -> None:
    curly = "\u201cIt\u2019s   DONE\u201d \u2014 she said\u00a0today"
    straight = '"it\'s done" - she said today'
    assert normalize(curly) == normalize(straight) == '"it\'s done" - she said today'


def test_fold_maps_each_character_as_a_translation_table_would() -> None:
    def translated(text: str) -> str:
        return unicodedata.normalize("NFKC", text).translate(str.maketrans(CHAR_MAP)).casefold()

    mapped = "".join(CHAR_MAP)
    rng = random.Random(5)
    texts = [mapped, mapped[::-1], "`Tick` \u2026 tock", "\ufb01nal \u201cQUOTE\u201d", "plain ASCII, no change."]
    texts += ["".join(rng.choice(mapped + "aB c'\"-.\u00e9\n") for _ in range(60)) for _ in range(200)]
    for text in texts:
        assert fold(text) == translated(text), text
    assert fold("\u201c\u2018X\u2019\u201d \u2014 \u2026\u00ad`") == "\"'x'\" - ...'"


def test_nfkc_folds_compatibility_forms() -> None:
    assert normalize("\ufb01nal \u2460 \uff21BC") == "final 1 abc"


def test_repeated_lines_are_dropped_but_order_is_kept() -> None:
    text = "Alpha  beta.\n\nGamma delta.\n\u201calpha BETA.\u201d\n  Alpha beta.\n--\nEpsilon."
    lines = split_lines(text)
    assert [ln.normalized for ln in lines] == ["alpha beta.", "gamma delta.", '"alpha beta."', "epsilon."]
    assert [ln.text for ln in lines][:2] == ["Alpha beta.", "Gamma delta."]
    assert len({ln.key for ln in lines}) == 4 and all(len(ln.key) == 8 for ln in lines)


def test_line_keys_ignore_case_quotes_and_spacing() -> None:
    a, b = split_lines("\u201cConnect  with us\u201d"), split_lines('"connect with US"')
    assert a[0].key == b[0].key


def test_words_keep_numbers_and_inner_punctuation() -> None:
    assert words(normalize("The U.S. sold 2,400 bags (don't ask) for $5.93 mln.")) == [
        "the", "u.s", "sold", "2,400", "bags", "don't", "ask", "for", "5.93", "mln",
    ]  # fmt: skip


def test_empty_and_punctuation_only_texts_have_no_words() -> None:
    assert words(normalize("  \n -- ... \u201d ")) == []


def test_lines_are_folded_one_by_one_when_folding_changes_the_line_count() -> None:
    text = "Prices ROSE\nin  Tokyo\n\nPrices rose"
    assert split_lines_python(text, "a folded text of another line count") == split_lines(text)
    assert [ln.normalized for ln in split_lines(text)] == ["prices rose", "in tokyo"]

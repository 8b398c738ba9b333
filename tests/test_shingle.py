import numpy as np

from dedup_service.shingle import shingle_hashes


def test_distinct_shingles_are_counted_once() -> None:
    text = "a b c d e f".split()
    assert len(shingle_hashes(text, 3)) == 4
    assert len(shingle_hashes(text + text[:3], 3)) == 6  # "e f a", "f a b" new; "a b c" repeats


def test_word_order_matters() -> None:
    a = shingle_hashes("the cat sat on the mat".split(), 2)
    b = shingle_hashes("mat the on sat cat the".split(), 2)
    assert len(np.intersect1d(a, b)) == 0


def test_shared_shingles_hash_equal_across_texts() -> None:
    a = shingle_hashes("one two three four five six".split(), 5)
    b = shingle_hashes("zero one two three four five".split(), 5)
    assert len(np.intersect1d(a, b)) == 1


def test_short_text_is_one_shingle_and_empty_is_none() -> None:
    assert len(shingle_hashes(["only", "three", "words"], 5)) == 1
    assert len(shingle_hashes([], 5)) == 0


def test_seed_changes_hashes() -> None:
    text = "a b c d e f".split()
    assert set(shingle_hashes(text, 2, seed=1).tolist()).isdisjoint(shingle_hashes(text, 2, seed=2).tolist())

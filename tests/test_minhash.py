import numpy as np
from datasketch import MinHash

from dedup_service.minhash import MinHasher, Signature, jaccard, jaccard_many


def _pairs(n: int, rng: np.random.Generator) -> list[tuple[np.ndarray, np.ndarray, float]]:
    out = []
    for _ in range(n):
        base = rng.integers(0, 2**63, size=int(rng.integers(200, 800)), dtype=np.uint64)
        keep = rng.random(len(base)) < rng.uniform(0.3, 0.95)
        extra = rng.integers(0, 2**63, size=int(rng.integers(0, 200)), dtype=np.uint64)
        a, b = np.unique(base), np.unique(np.concatenate([base[keep], extra]))
        true = len(np.intersect1d(a, b)) / len(np.union1d(a, b))
        out.append((a, b, true))
    return out


def test_estimates_are_as_accurate_as_datasketch() -> None:
    hasher = MinHasher(128, seed=1)
    pairs = _pairs(150, np.random.default_rng(7))
    ours, theirs = [], []
    for a, b, true in pairs:
        ours.append(abs(jaccard(hasher.signature(a).values, hasher.signature(b).values) - true))
        ma, mb = MinHash(num_perm=128, seed=1), MinHash(num_perm=128, seed=1)
        ma.update_batch([x.tobytes() for x in a])
        mb.update_batch([x.tobytes() for x in b])
        theirs.append(abs(ma.jaccard(mb) - true))
    # the standard error at k=128 is about 0.04; both must sit at that level
    assert np.mean(ours) < 0.045
    assert abs(np.mean(ours) - np.mean(theirs)) < 0.01


def test_identical_sets_agree_and_disjoint_sets_do_not() -> None:
    hasher = MinHasher(64, seed=3)
    a = np.arange(1, 500, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    b = np.arange(1000, 1500, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    assert jaccard(hasher.signature(a).values, hasher.signature(a.copy()).values) == 1.0
    assert jaccard(hasher.signature(a).values, hasher.signature(b).values) < 0.1


def test_large_inputs_are_processed_in_blocks_with_the_same_result() -> None:
    hasher = MinHasher(128, seed=1)
    big = np.random.default_rng(1).integers(0, 2**63, size=10_000, dtype=np.uint64)
    whole = hasher.signature(big).values
    a, b = (np.frombuffer(packed, "<u8") for packed in hasher.packed())  # the permutations' multipliers, offsets
    with np.errstate(over="ignore"):  # the whole (10000 x 128) matrix at once
        direct = ((big.reshape(-1, 1) * a + b).min(axis=0) >> np.uint64(32)) & np.uint64(0xFFFF)
    assert np.array_equal(whole, direct.astype(np.uint16))


def test_signature_round_trips_through_bytes() -> None:
    sig = MinHasher(128, seed=1).signature(np.arange(10, dtype=np.uint64))
    data = sig.to_bytes()
    assert len(data) == 256  # 16 bits a slot
    back = Signature.from_bytes(data, sig.size)
    assert np.array_equal(back.values, sig.values) and back.size == 10


def test_jaccard_many_matches_pairwise() -> None:
    hasher = MinHasher(128, seed=1)
    sets = [np.arange(i, i + 300, dtype=np.uint64) for i in (0, 50, 150, 400)]
    sigs = [hasher.signature(s).values for s in sets]
    many = jaccard_many(sigs[0], np.stack(sigs[1:]))
    assert many.tolist() == [jaccard(sigs[0], s) for s in sigs[1:]]

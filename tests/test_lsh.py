import numpy as np
import pytest
from datasketch.lsh import _optimal_param

from dedup_service.lsh import Banding, false_negative_area, false_positive_area, optimal_params
from dedup_service.minhash import MinHasher


@pytest.mark.parametrize(("threshold", "num_perm"), [(0.3, 128), (0.5, 128), (0.8, 128), (0.5, 256), (0.9, 64)])
def test_parameters_agree_with_datasketch(threshold: float, num_perm: int) -> None:
    assert optimal_params(threshold, num_perm) == _optimal_param(threshold, num_perm, 0.5, 0.5)


def test_default_banding_and_its_error_areas() -> None:
    band = Banding.for_threshold(0.5, 128)
    assert (band.bands, band.rows) == (25, 5)
    assert false_positive_area(0.5, 25, 5) < 0.1 and false_negative_area(0.5, 25, 5) < 0.1


def test_band_hashes_agree_exactly_where_rows_agree() -> None:
    band = Banding(bands=4, rows=8)
    hasher = MinHasher(32, seed=1)
    sig = hasher.signature(np.arange(100, dtype=np.uint64))
    other = hasher.signature(np.arange(100, dtype=np.uint64))
    other.values[3] ^= 1  # perturb one row of band 0
    a, b = band.band_hashes(sig), band.band_hashes(other)
    assert len(a) == 32
    assert a[:8] != b[:8] and a[8:] == b[8:]

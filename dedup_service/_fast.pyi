def core(
    text: str, seed: int, k: int, anchor_k: int, anchor_mod: int, max_anchors: int, a: bytes, b: bytes
) -> tuple[int, bytes, bytes, int, bytes] | None: ...
def facts(
    text: str, number_words: dict[bytes, bytes], stopwords: frozenset[bytes], cased_low: float, cased_high: float
) -> tuple[bytes, bytes, bytes]: ...
def screen(
    query_sig: bytes,
    query_hash: bytes,
    query_shingles: int,
    searched: int,
    records: list[bytes],
    hashes: list[bytes],
    shared: list[int],
    anchors: list[int],
    k: int,
    anchor_k: int,
    near: float,
    low: float,
) -> list[tuple[int, float, float, float]]: ...
def lines(raw: str, folded: str) -> list[tuple[str, str, bytes]] | None: ...
def agree(query_record: bytes, candidate_record: bytes, threshold: float, nearly_all: float) -> bool: ...

"""The script protocol (protocol.py and lua/index.lua) agrees on every name: the arguments
and item fields the script reads are those protocol.py sends, and every reply field it
names is one the script sets. The calls themselves run against real Redis in
test_index.py and the API tests; these checks fail on a name changed on one side only."""

from __future__ import annotations

import re

from conftest import REPO

from dedup_service import protocol as p
from dedup_service.keys import SCRIPT_KEYS, key_layout
from dedup_service.records import Finish, ListingCursor

SCRIPT = (REPO / "dedup_service" / "lua" / "index.lua").read_text()
SEARCH = {"max_candidates": 1, "min_shared": 2, "min_share": 0.1, "copy_share": 0.5, "max_post": 100,
          "max_anchor_post": 64, "per_cluster": 32}  # fmt: skip


def _argument_names(argv: list[object]) -> set[str]:
    n = int(argv[1])  # type: ignore[call-overload]
    return {name.decode() if isinstance(name, bytes) else str(name) for name in argv[2 : 2 + n]}


def _every_call() -> list[list[object]]:
    return [
        p.call("upsert", {"now": "1", "lines_kept": 1, "chrome_stories": 3, **SEARCH,
                          "candidate_row": "", "upserted_row": ""}),  # write_call's arguments, without items
        p.search_call(SEARCH, "", b"", b""),
        p.get_call("a", SEARCH),
        p.expire_call(1.0, 2.0, 3, 30),
        p.finish_call([Finish("1", ["2"])], 1.0, 10, 3),
        p.cluster_call("c1", 10),
        p.recent_call(0.0, ListingCursor("1.5", "c2"), 100, 2, 50),
        p.call("delete", p.delete_args("a", 1.0)),
        p.call("pending", {"cutoff": "1", "at_most": 10}),
        p.one_field("chrome", p.chrome_args(3, 10), "site", ["s"]),
        # a partitioned index's
        p.call("claim", p.placed(p.claim_args(1.0), 1, 4)),
        p.call("post", p.post_args(100, 64)),
        p.call("learn", p.learn_args(10, 3)),
        p.call("relabel", p.relabel_args("c1")),
    ]  # fmt: skip


def test_a_call_is_the_command_its_named_arguments_and_items() -> None:
    assert p.call("x", {"a": 1, "b": "two"}, ("f", "g"), [(3, 4), (5, 6)]) == [
        "x", 2, b"a", b"b", 1, "two", 2, b"f", b"g", 3, 4, 5, 6]  # fmt: skip
    assert p.call("y", {}) == ["y", 0]


def test_the_script_reads_only_arguments_and_fields_that_are_sent() -> None:
    read = set(re.findall(r"\bARGS\.(\w+)", SCRIPT))
    sent = set().union(*(_argument_names(argv) for argv in _every_call()))
    assert read and read <= sent, read - sent
    fields = set(re.findall(r"\ba\.(\w+)", SCRIPT))
    items = {*p.WRITE_ITEM, *p.FINISH_ITEM, *p.POST_ITEM, *p.LEARN_ITEM, *p.ADJOIN_ITEM}
    assert fields <= {*items, "iid", "id", "site"}, fields


def test_every_reply_field_is_one_the_script_sets() -> None:
    rows = [p.FOUND_ROW, p.UPSERTED_ROW, p.STORED_ROW, p.EXPIRED_ROW, p.FINISHED_ROW, p.MEMBER_ROW, p.CLUSTER_ROW,
            p.SUMMARY_ROW, p.LISTING_ROW, p.CLAIMED_ROW]  # fmt: skip
    # the tables made into rows, and the search's result table (check makes a row of it)
    bodies = re.findall(r"(?:row\(|return )\{([^{}]*)\}", SCRIPT)
    set_in_rows = {key for body in bodies for key in re.findall(r"(\w+) = ", body)}
    for row in rows:
        assert set(row) <= set_in_rows, (row, set(row) - set_in_rows)
    for name in p.CANDIDATE_ROW:  # laid out flat, each at the place its name gives
        assert f"C_AT.{name}" in SCRIPT, name


def test_flat_candidate_rows_decode_in_the_order_named() -> None:
    rows = [b"7", b"ext-7", b"c3", b"rec", b"{}", b"h" * 16, 4, 12] * 2
    found = p.found(9, rows)
    assert found.searched_anchors == 9 and len(found.candidates) == 2
    cand = found.candidates[0]
    assert (cand.iid, cand.id, cand.cluster_id, cand.shared_anchors, cand.anchors) == ("7", "ext-7", "c3", 4, 12)


def test_the_script_gets_every_key_it_uses_by_name() -> None:
    layout = key_layout("dedup")
    assert set(SCRIPT_KEYS) <= set(layout)
    assert all(name.startswith("{dedup}:") for name in layout.values())
    unpacked = re.search(r"local (.+) = unpack\(KEYS\)", SCRIPT)
    assert unpacked is not None and len(unpacked.group(1).split(",")) == len(SCRIPT_KEYS)
    assert "BASE" not in SCRIPT and "KEYS[1]" not in SCRIPT  # no name built from another

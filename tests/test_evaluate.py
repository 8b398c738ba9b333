"""Pairwise scoring; the eval command end to end on a small labelled file of our own; the
quality targets on the dev set through ``eval`` and through the HTTP API, and the same
story clusters on a Redis Cluster as on one Redis."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FIXTURES

from dedup_service import Settings
from dedup_service.app import create_app
from dedup_service.config import IndexLayout
from dedup_service.evaluate import cluster_pairs, evaluate, score
from dedup_service.runner import cluster_corpus, read_jsonl, score_corpus


def test_scores_pairs_like_the_reference_scorer() -> None:
    gold = {"a": "a", "b": "a", "c": "a", "d": "d"}
    pred = {"a": "x", "b": "x", "c": "c", "d": "x"}
    assert cluster_pairs(gold) == {("a", "b"), ("a", "c"), ("b", "c")}
    s = score(cluster_pairs(gold), cluster_pairs(pred))
    assert (s.tp, s.fp, s.fn) == (1, 2, 2)
    assert round(s.precision, 4) == 0.3333 and round(s.recall, 4) == 0.3333


def test_story_mode_ignores_recurring_cross_day_pairs() -> None:
    gold = {"a": "a", "b": "a", "c": "a"}
    days = {"a": "1987-03-01", "b": "1987-03-01", "c": "1987-03-09"}
    verified = [{"a": "a", "b": "c", "type": "near", "recurring": True}, {"a": "a", "b": "b", "type": "exact"}]
    report = evaluate(gold, {"a": "a", "b": "a", "c": "c"}, days, verified)
    assert report["text"]["recall"] == round(1 / 3, 4)
    assert report["story"]["recall"] == 1.0 and report["story"]["fp"] == 0
    assert report["recall_by_type"]["exact"]["recall"] == 1.0
    assert "near" not in report["story_recall_by_type"]


def test_eval_command_on_a_small_labelled_file(tmp_path: Path) -> None:
    body = (FIXTURES / "agency_body.txt").read_text()
    paras = [p for p in body.split("\n\n") if p.strip()]
    rows = [
        {"id": "w1", "text": body, "cluster": "w1", "date": "2026-11-24T09:00:00"},
        {"id": "w2", "text": body.upper(), "cluster": "w1", "date": "2026-11-24T10:00:00"},
        {"id": "w3", "text": "\n\n".join(paras[:4]), "cluster": "w1", "date": "2026-11-24T11:00:00"},
        {"id": "o1", "text": "A chess tournament in a mountain village drew players from eleven countries.",
         "cluster": "o1", "date": "2026-11-24T12:00:00"},
    ]  # fmt: skip
    data = tmp_path / "mini.articles.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    preds = tmp_path / "pred.jsonl"
    done = subprocess.run(
        [sys.executable, "-m", "dedup_service.cli", "eval", str(data), "--json", "--predictions", str(preds)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["story"]["precision"] == 1.0 and report["story"]["recall"] == 1.0
    clusters = {json.loads(line)["id"]: json.loads(line)["cluster"] for line in preds.read_text().splitlines()}
    assert clusters["w1"] == clusters["w2"] == clusters["w3"] != clusters["o1"]


@pytest.mark.timeout(600)
def test_eval_on_the_reuters_dev_set_keeps_its_measured_quality(tmp_path: Path) -> None:
    """The targets of the quality issue (story mode); benchmarks/README.md has the figures."""
    from conftest import shared_file

    data = shared_file("data/reuters_dev.articles.jsonl")
    done = subprocess.run(
        [sys.executable, "-m", "dedup_service.cli", "eval", str(data), "--json"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["story"]["precision"] >= 0.97
    assert report["story"]["recall"] >= 0.95
    assert report["story_recall_by_type"]["contained"]["recall"] >= 0.90
    assert report["story_recall_by_type"]["exact"]["recall"] == 1.0


@pytest.mark.timeout(600)
async def test_the_quality_targets_hold_through_the_http_api(aiohttp_client, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    """The dev set posted one article a request in file order, each article's story cluster
    read back with GET /v1/articles/{id}, scored like ``eval``."""
    from conftest import shared_file

    data = shared_file("data/reuters_dev.articles.jsonl")
    rows = read_jsonl(data)
    client = await aiohttp_client(create_app(settings))
    for row in rows:
        body = {k: row[k] for k in ("id", "text", "title", "site") if row.get(k)}
        resp = await client.post("/v1/articles", json={**body, "published_at": row["date"]})
        assert resp.status == 201, await resp.text()
    clusters = {}
    for row in rows:
        resp = await client.get(f"/v1/articles/{row['id']}", params={"limit": "1"})
        clusters[row["id"]] = (await resp.json())["cluster_id"]
    report = score_corpus(data, rows, clusters)
    assert report["story"]["precision"] >= 0.97
    assert report["story"]["recall"] >= 0.95
    assert report["story_recall_by_type"]["contained"]["recall"] >= 0.90


@pytest.mark.timeout(600)
@pytest.mark.parametrize("partitions", [1, 12])
async def test_story_clusters_on_a_redis_cluster_equal_those_on_one_redis(
    redis_url: str, cluster_url: str, partitions: int
) -> None:
    """1,000 dev-set stories (copies among them) ingested on one Redis and on a local
    3-node cluster, in one slot or spread over 12 partitions, fall into the same story
    clusters."""
    from conftest import shared_file

    rows = read_jsonl(shared_file("data/reuters_dev.articles.jsonl"))[:1000]
    one = await cluster_corpus(Settings(redis_url=redis_url), rows)
    spread = await cluster_corpus(Settings(redis_url=cluster_url, redis_cluster=True,
                                           layout=IndexLayout(partitions=partitions)), rows)  # fmt: skip

    def stories(clusters: dict[str, str]) -> set[frozenset[str]]:
        members: dict[str, set[str]] = {}
        for article, cid in clusters.items():
            members.setdefault(cid, set()).add(article)
        return {frozenset(m) for m in members.values()}

    assert len(one) == len(rows)
    assert stories(one) == stories(spread)
    assert len(stories(one)) < len(rows)  # copies were found, so there is something to compare

"""Pure pairwise scoring of predicted story clusters against ground truth.

Same definitions as the evaluation data's ``score.py``: gold pairs are all pairs inside a
gold cluster; ``text`` mode counts them all; ``story`` mode drops "don't care" pairs
(scheduled reports that repeat their wording on other days: pairs flagged ``recurring``
in the verified pairs, and cross-day pairs in clusters that hold such a pair).
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

Pair = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Score:
    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def to_json(self) -> dict[str, Any]:
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "precision": round(self.precision, 4),
                "recall": round(self.recall, 4), "f1": round(self.f1, 4)}  # fmt: skip


def cluster_pairs(clusters: Mapping[str, str]) -> set[Pair]:
    """All unordered pairs of ids sharing a cluster label."""
    members: dict[str, list[str]] = defaultdict(list)
    for article_id, label in clusters.items():
        members[label].append(article_id)
    return {p for ids in members.values() for p in itertools.combinations(sorted(ids), 2)}


def score(gold: set[Pair], predicted: set[Pair]) -> Score:
    tp = len(gold & predicted)
    return Score(tp, len(predicted) - tp, len(gold) - tp)


def story_ignored(
    gold_clusters: Mapping[str, str], days: Mapping[str, str], verified: Iterable[Mapping[str, Any]]
) -> set[Pair]:
    rows = list(verified)
    recurring = {gold_clusters[r["a"]] for r in rows if r.get("recurring")}
    ignored: set[Pair] = {tuple(sorted((r["a"], r["b"]))) for r in rows if r.get("recurring")}
    ignored |= {p for p in cluster_pairs(gold_clusters)
                if gold_clusters[p[0]] in recurring and days[p[0]] != days[p[1]]}  # fmt: skip
    return ignored


def evaluate(
    gold_clusters: Mapping[str, str],
    predicted_clusters: Mapping[str, str],
    days: Mapping[str, str],
    verified: Iterable[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    rows = list(verified)
    gold, pred = cluster_pairs(gold_clusters), cluster_pairs(predicted_clusters)
    ignored = story_ignored(gold_clusters, days, rows)
    out: dict[str, Any] = {
        "articles": len(gold_clusters),
        "gold_pairs": len(gold),
        "predicted_pairs": len(pred),
        "text": score(gold, pred).to_json(),
        "story": score(gold - ignored, pred - ignored).to_json(),
    }
    by_type: dict[str, list[Pair]] = defaultdict(list)
    for r in rows:
        by_type[r["type"]].append(tuple(sorted((r["a"], r["b"]))))
    if by_type:
        out["recall_by_type"] = _recall_by_type(by_type, pred)
        kept = {t: [p for p in v if p not in ignored] for t, v in by_type.items()}
        out["story_recall_by_type"] = _recall_by_type({t: v for t, v in kept.items() if v}, pred)
    return out


def _recall_by_type(by_type: Mapping[str, list[Pair]], pred: set[Pair]) -> dict[str, dict[str, float]]:
    return {
        t: {"n": len(v), "recall": round(sum(p in pred for p in v) / len(v), 4)} for t, v in sorted(by_type.items())
    }


def format_report(report: Mapping[str, Any]) -> str:
    lines = [f"{report['articles']} articles, {report['gold_pairs']} gold pairs, {report['predicted_pairs']} predicted"]
    lines.append(f"{'mode':<8}{'precision':>10}{'recall':>10}{'f1':>8}{'tp':>7}{'fp':>7}{'fn':>7}")
    for mode in ("story", "text"):
        s = report[mode]
        lines.append(
            f"{mode:<8}{s['precision']:>10.4f}{s['recall']:>10.4f}{s['f1']:>8.4f}{s['tp']:>7}{s['fp']:>7}{s['fn']:>7}"
        )
    for mode, key in (("story", "story_recall_by_type"), ("text", "recall_by_type")):
        for kind, v in report.get(key, {}).items():
            lines.append(f"{mode} recall of {kind} pairs: {v['recall']:.4f} (n={v['n']})")
    return "\n".join(lines)

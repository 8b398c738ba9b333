"""The OpenAPI 3.1 description of the HTTP API, served at ``GET /openapi.json``."""

from __future__ import annotations

from typing import Any

from .models import Relation

_STR = {"type": "string"}
_NSTR = {"type": ["string", "null"]}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_ERRORS = {
    "400": _json(_ref("Error"), "malformed body"),
    "401": _json(_ref("Error"), "missing or unknown API key"),
    "408": _json(_ref("Error"), "the body did not arrive within the read timeout"),
    "413": _json(_ref("Error"), "body or batch too large"),
    "415": _json(
        _ref("Error"),
        "a Content-Type other than application/json (the webhook also takes "
        "application/x-ndjson); none is taken as JSON",
    ),
    "422": _json(
        _ref("Error"),
        "a field is missing, empty, of the wrong type or too long (a text: 1,000,000 characters as sent and once "
        "NFKC-normalized); the message names it",
    ),
    "503": _json(
        _ref("Error"),
        "Redis unreachable (index_unavailable), or a write not yet on DEDUP_MIN_REPLICAS_ACK replicas "
        "(not_replicated); retry after Retry-After seconds",
    ),
}
_LIMIT = {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000}}
_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}

SCHEMAS: dict[str, Any] = {
    "Article": {
        "type": "object",
        "properties": {
            "id": {"type": "string", "minLength": 1, "maxLength": 256},
            "text": {"type": "string", "minLength": 1},
            "html": {"type": "string", "minLength": 1},
            "title": _STR, "url": _STR, "site": _STR, "source": _STR,
            "published_at": {"type": "string", "description": "ISO 8601"},
            "date": {"type": "string", "description": "an alias of published_at (not both)"},
        },
        "additionalProperties": False,
        "description": "exactly one of text and html; any other field is refused (422) by name",
    },
    "Match": {
        "type": "object",
        "required": ["id", "similarity", "containment", "coverage", "relation", "cluster_id",
                     "site", "url", "title", "published_at"],
        "properties": {
            "id": _STR,
            "similarity": {"type": "number", "minimum": 0, "maximum": 1,
                           "description": "estimated Jaccard similarity of the two texts' word 5-shingles"},
            "containment": {"type": "number", "minimum": 0, "maximum": 1,
                            "description": "share of the article's words found in the match (for a rewrite: "
                                           "of its 3-word phrases, measured)"},
            "coverage": {"type": "number", "minimum": 0, "maximum": 1,
                         "description": "share of the match's words found in the article: how much of it was "
                                        "kept (for a rewrite: of its 3-word phrases, measured)"},
            "relation": {"enum": [r.value for r in Relation if r is not Relation.NEW],
                         "description": "exact | near_duplicate | contained (the article inside the match) | "
                                        "contains | rewrite (written from the match: at least 1/8 of the "
                                        "article's 3-word phrases are the match's, same facts) | related (0.7 "
                                        "of either text's words, other facts: a template or an update)"},
            "cluster_id": _STR, "site": _NSTR, "url": _NSTR, "title": _NSTR, "published_at": _NSTR,
            "kept_a": {"type": "number"}, "kept_b": {"type": "number"},
            "passages": {"type": "array", "items": _ref("Passage"),
                         "description": "with explain: as in Diff, a the checked text, b the match's"},
        },
    },
    "Verdict": {
        "type": "object",
        "required": ["relation", "matches", "cluster_id"],
        "properties": {
            "id": {**_STR, "description": "absent from a check of an article sent without one"},
            "relation": {"enum": [r.value for r in Relation]},
            "matches": {"type": "array", "items": _ref("Match")},
            "cluster_id": _NSTR,
            "text": {**_STR, "description": "with explain: the cleaned text that was matched"},
        },
    },
    "StoredArticle": {
        "type": "object",
        "required": ["id", "cluster_id", "matches"],
        "properties": {
            "id": _STR, "cluster_id": _STR, "title": _STR, "url": _STR, "site": _STR, "source": _STR,
            "published_at": _STR, "agency": _STR, "lang": _STR, "script": _STR, "text": _STR,
            "matches": {"type": "array", "items": _ref("Match")},
        },
    },
    "BatchResult": {
        "oneOf": [
            {"allOf": [_ref("Verdict"), {"type": "object", "required": ["status"],
                                         "properties": {"status": {"enum": [200, 201]}}}]},
            {"type": "object", "required": ["status", "error"],
             "properties": {"status": {"type": "integer"}, "error": _ref("ErrorBody")}},
        ]
    },
    "Batch": {
        "type": "object",
        "required": ["results"],
        "properties": {"results": {"type": "array", "items": _ref("BatchResult")}, "delivery": _NSTR},
    },
    "Member": {
        "type": "object",
        "required": ["id", "relation"],
        "properties": {"id": _STR, "relation": _STR, "site": _NSTR, "url": _NSTR, "title": _NSTR,
                       "published_at": _NSTR, "source": _NSTR, "agency": _NSTR, "lang": _NSTR, "script": _NSTR,
                       "kept": {"type": "number", "minimum": 0, "maximum": 1,
                                "description": "estimated share of the original's words this member holds"},
                       "ingested_at": {"type": "string", "format": "date-time"}},
    },
    "Cluster": {
        "type": "object",
        "required": ["cluster_id", "size", "agency", "sites", "original", "members"],
        "properties": {
            "cluster_id": _STR, "size": {"type": "integer", "minimum": 1}, "agency": _NSTR,
            "sites": {"type": "array", "items": _STR}, "original": _ref("Member"),
            "members": {"type": "array", "items": _ref("Member")},
        },
    },
    "ClusterList": {
        "type": "object",
        "required": ["clusters", "next"],
        "properties": {"clusters": {"type": "array", "items": {
            "type": "object", "required": ["cluster_id", "size", "sites", "agency", "lang", "title", "updated_at"],
            "properties": {"cluster_id": _STR, "size": {"type": "integer"}, "sites": {"type": "array", "items": _STR},
                           "agency": _NSTR, "lang": _NSTR, "title": _NSTR,
                           "updated_at": {"type": "string", "format": "date-time",
                                          "description": "when a member last joined or left"},
                           "first_seen": {"type": ["string", "null"], "format": "date-time",
                                          "description": "when its earliest member was ingested"}}}},
                       "next": {**_NSTR, "description": "send as `cursor` (with the same filters) for the clusters "
                                                        "after these; null when there are no more"}},
    },
    "Passage": {
        "type": "object",
        "required": ["kind", "a", "b", "words_a", "words_b", "facts"],
        "properties": {
            "kind": {"enum": ["same", "only_a", "only_b", "changed"],
                     "description": "shared by both texts, held by one only, or one side's words in the place of "
                                    "the other's"},
            "a": {"type": ["array", "null"], "items": {"type": "integer"},
                  "description": "[start, end) characters in the first text (the checked or `id` article's)"},
            "b": {"type": ["array", "null"], "items": {"type": "integer"},
                  "description": "[start, end) characters in the second text (the match's or `against`'s)"},
            "words_a": {"type": "integer"}, "words_b": {"type": "integer"},
            "facts": {"type": "boolean", "description": "a changed passage where a figure or a name changed"},
        },
    },
    "Diff": {
        "type": "object",
        "required": ["id", "against", "text", "against_text", "kept_a", "kept_b", "passages"],
        "properties": {
            "id": _STR, "against": _STR, "text": _STR, "against_text": _STR,
            "kept_a": {"type": "number", "description": "share of the first text's words in shared passages"},
            "kept_b": {"type": "number", "description": "share of the second text's words in shared passages"},
            "passages": {"type": "array", "items": _ref("Passage")},
        },
    },
    "ErrorBody": {"type": "object", "required": ["code", "message"], "properties": {"code": _STR, "message": _STR}},
    "Error": {"type": "object", "required": ["error"], "properties": {"error": _ref("ErrorBody")}},
    "Status": {"type": "object", "required": ["status"], "properties": {"status": _STR}},
}  # fmt: skip


def _op(summary: str, responses: dict[str, Any], body: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": responses, **extra}
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return op


def spec() -> dict[str, Any]:
    article_errors = {k: _ERRORS[k] for k in ("400", "401", "408", "413", "415", "422", "503")}
    return {
        "openapi": "3.1.0",
        "info": {"title": "dedup-service", "version": "0.1.0",
                 "description": "Near-duplicate and syndicated-copy detection for news articles."},
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
        "paths": {
            "/v1/articles": {"post": _op(
                "Index one article", {"201": _json(_ref("Verdict"), "indexed (new or replaced)"),
                                      "200": _json(_ref("Verdict"), "already indexed with the same text (as sent, "
                                                   "compared after normalization); its metadata is now as sent"),
                                      **article_errors},
                _ref("Article"), parameters=[_LIMIT])},
            "/v1/articles:batch": {"post": _op(
                "Index several articles, one result each, in order", {"200": _json(_ref("Batch"), "per-item results"),
                                                                      **article_errors},
                {"type": "array", "items": _ref("Article")}, parameters=[_LIMIT])},
            "/v1/check": {"post": _op(
                "Match an article without indexing it", {"200": _json(_ref("Verdict"), "verdict"), **article_errors},
                _ref("Article"), parameters=[_LIMIT, {
                    "name": "explain", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": 20},
                    "description": "the first N matches also carry `passages`, `kept_a` and `kept_b` (see Diff), "
                                   "and the answer the cleaned `text` their offsets point into"}])},
            "/v1/articles/{id}/diff": {"get": _op(
                "The passages two indexed articles share, hold alone, or changed, as character offsets",
                {"200": _json(_ref("Diff"), "aligned"), "404": _json(_ref("Error"), "unknown article"),
                 "422": _ERRORS["422"], "503": _ERRORS["503"]},
                parameters=[_ID, {"name": "against", "in": "query", "required": True, "schema": _STR}])},
            "/v1/articles/{id}": {
                "get": _op("An indexed article and its current matches",
                           {"200": _json(_ref("StoredArticle"), "found"), "404": _json(_ref("Error"), "unknown id"),
                            "422": _ERRORS["422"], "503": _ERRORS["503"]},
                           parameters=[_ID, _LIMIT, {"name": "include", "in": "query", "schema": {"enum": ["text"]}}]),
                "delete": _op("Remove an article", {"204": {"description": "removed"},
                                                    "404": _json(_ref("Error"), "unknown id"), "503": _ERRORS["503"]},
                              parameters=[_ID]),
            },
            "/v1/clusters/{cluster_id}": {"get": _op(
                "A story cluster", {"200": _json(_ref("Cluster"), "found"), "404": _json(_ref("Error"), "unknown"),
                                    "503": _ERRORS["503"]},
                parameters=[{"name": "cluster_id", "in": "path", "required": True, "schema": _STR}])},
            "/v1/clusters": {"get": _op(
                "Recently changed clusters", {"200": _json(_ref("ClusterList"), "clusters"), "422": _ERRORS["422"],
                                              "503": _ERRORS["503"]},
                parameters=[_LIMIT, {"name": "site", "in": "query", "schema": _STR},
                            {"name": "agency", "in": "query", "schema": _STR},
                            {"name": "lang", "in": "query", "schema": _STR,
                             "description": "ISO 639-1 code of the cluster's language (most of its members')"},
                            {"name": "since", "in": "query", "schema": {"type": "string", "format": "date-time"}},
                            {"name": "min_size", "in": "query", "schema": {"type": "integer", "minimum": 1}},
                            {"name": "cursor", "in": "query", "schema": _STR,
                             "description": "the `next` of the previous page"}])},
            "/v1/webhooks/ingest": {"post": _op(
                "Signed feed delivery: one article, an array, or NDJSON",
                {"200": _json(_ref("Batch"), "per-item results"), **article_errors,
                 "404": _json(_ref("Error"), "webhook off"),
                 "409": _json(_ref("Error"), "delivery in progress, or its id used before for another body")},
                _ref("Article"), security=[],
                parameters=[{"name": h, "in": "header", "required": h != "X-Dedup-Delivery", "schema": schema}
                            for h, schema in (("X-Dedup-Signature", _STR),
                                              ("X-Dedup-Timestamp", {"type": "string", "pattern": "^[0-9]+$",
                                                                     "description": "Unix seconds, ASCII digits"}),
                                              ("X-Dedup-Delivery", _STR))])},
            "/healthz": {"get": _op("Liveness", {"200": _json(_ref("Status"), "alive")}, security=[])},
            "/readyz": {"get": _op("Readiness: Redis reachable", {"200": _json(_ref("Status"), "ready"),
                                                                  "503": _ERRORS["503"]}, security=[])},
            "/metrics": {"get": _op("Prometheus metrics", {"200": {"description": "text exposition"}}, security=[])},
            "/openapi.json": {"get": _op("This document", {"200": {"description": "OpenAPI 3.1"}}, security=[])},
        },
    }  # fmt: skip

"""Live responses conform to the OpenAPI document the service serves."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from conftest import FIXTURES
from jsonschema import Draft202012Validator

AGENCY = (FIXTURES / "agency_body.txt").read_text()


def conforms(spec: dict[str, Any], path: str, method: str, status: int, body: Any) -> None:
    response = spec["paths"][path][method]["responses"][str(status)]
    schema = response["content"]["application/json"]["schema"]
    validator = Draft202012Validator({**schema, "components": spec["components"]})
    errors = sorted(validator.iter_errors(body), key=str)
    assert not errors, f"{method.upper()} {path} {status}: {errors[0].message}"


async def test_live_responses_match_the_document(client: TestClient) -> None:
    spec = await (await client.get("/openapi.json")).json()
    Draft202012Validator.check_schema({"components": spec["components"]})
    assert spec["openapi"].startswith("3.1")

    async def call(method: str, url: str, path: str, **kw: Any) -> Any:
        resp = await client.request(method, url, **kw)
        body = await resp.json() if resp.status != 204 else None
        if resp.status != 204:
            conforms(spec, path, method.lower(), resp.status, body)
        return resp.status, body

    meta = {"title": "Floods", "site": "a.example", "published_at": "2026-11-24T09:00:00Z", "source": "AFP"}
    assert (await call("POST", "/v1/articles", "/v1/articles", json={"id": "a", "text": AGENCY, **meta}))[0] == 201
    assert (await call("POST", "/v1/articles", "/v1/articles", json={"id": "a", "text": AGENCY}))[0] == 200
    status, created = await call("POST", "/v1/articles", "/v1/articles", json={"id": "b", "text": AGENCY.upper()})
    assert status == 201 and created["matches"]
    assert (await call("POST", "/v1/check", "/v1/check", json={"text": AGENCY}))[0] == 200
    assert (await call("GET", "/v1/articles/a?include=text", "/v1/articles/{id}"))[0] == 200
    assert (await call("GET", f"/v1/clusters/{created['cluster_id']}", "/v1/clusters/{cluster_id}"))[0] == 200
    assert (await call("GET", "/v1/clusters", "/v1/clusters"))[0] == 200
    batch = [{"text": AGENCY}, {"id": 5}]
    assert (await call("POST", "/v1/articles:batch", "/v1/articles:batch", json=batch))[0] == 200
    assert (await call("GET", "/healthz", "/healthz"))[0] == 200
    assert (await call("GET", "/readyz", "/readyz"))[0] == 200
    for method, url, path, kw, status in [
        ("POST", "/v1/articles", "/v1/articles", {"data": b"{", "headers": {"Content-Type": "application/json"}}, 400),
        ("POST", "/v1/articles", "/v1/articles", {"json": {"id": "x"}}, 422),
        ("GET", "/v1/articles/nope", "/v1/articles/{id}", {}, 404),
        ("GET", "/v1/clusters/nope", "/v1/clusters/{cluster_id}", {}, 404),
        ("GET", "/v1/clusters?since=soon", "/v1/clusters", {}, 422),
        ("POST", "/v1/webhooks/ingest", "/v1/webhooks/ingest", {"json": {"text": "x"}}, 404),
    ]:
        assert (await call(method, url, path, **kw))[0] == status
    assert (await call("DELETE", "/v1/articles/a", "/v1/articles/{id}"))[0] == 204


def test_every_route_of_the_app_is_documented() -> None:
    from dedup_service import Settings, create_app
    from dedup_service.openapi import spec

    app = create_app(Settings(redis_url="redis://127.0.0.1:1/0"))
    served = {  # the dashboard's pages (/ui) are HTML for a browser, not part of the API
        (r.method.lower(), r.resource.canonical)
        for r in app.router.routes()
        if r.resource and r.method != "HEAD" and not r.resource.canonical.startswith("/ui")
    }
    documented = {(m, p) for p, ops in spec()["paths"].items() for m in ops}
    assert served == documented

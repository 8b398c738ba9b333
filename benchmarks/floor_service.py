"""The floor: what any aiohttp service costs here before doing any work. It reads and
parses the article (orjson, as the service does) and answers a small JSON object, with
no access log. Run by bench_http.py: ``python floor_service.py PORT``.
"""

from __future__ import annotations

import sys

import orjson
from aiohttp import web


async def accept(request: web.Request) -> web.Response:
    body = orjson.loads(await request.read())
    return web.Response(body=orjson.dumps({"id": body["id"], "matches": []}), status=201,
                        content_type="application/json")  # fmt: skip


async def ready(request: web.Request) -> web.Response:
    return web.Response(text="ok")


def main() -> None:
    app = web.Application()
    app.router.add_post("/v1/articles", accept)
    app.router.add_get("/", ready)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)


if __name__ == "__main__":
    main()

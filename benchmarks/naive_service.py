"""The naive baseline service: datasketch as its README teaches, behind aiohttp.

MinHash.update per shingle (sha1), then AsyncMinHashLSH query and insert on Redis, one
article per request. Run by bench_http.py: ``python naive_service.py PORT REDIS_URL``.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator

from aiohttp import web
from datasketch import MinHash
from datasketch.aio import AsyncMinHashLSH

LSH = web.AppKey("lsh", AsyncMinHashLSH)


async def dedup(request: web.Request) -> web.Response:
    body = await request.json()
    words = body["text"].lower().split()
    m = MinHash(num_perm=128)
    for i in range(max(len(words) - 4, 1)):
        m.update(" ".join(words[i : i + 5]).encode("utf8"))
    lsh = request.app[LSH]
    matches = await lsh.query(m)
    await lsh.insert(body["id"], m, check_duplication=False)
    return web.json_response({"id": body["id"], "matches": [x for x in matches if x != body["id"]]}, status=201)


def main() -> None:
    port, url = int(sys.argv[1]), sys.argv[2]
    host, redis_port = url.split("//")[1].split("/")[0].split(":")

    async def lsh_ctx(app: web.Application) -> AsyncIterator[None]:
        config = {"type": "aioredis", "basename": b"naive", "redis": {"host": host, "port": int(redis_port)}}
        async with AsyncMinHashLSH(storage_config=config, threshold=0.5, num_perm=128) as lsh:
            app[LSH] = lsh
            yield

    app = web.Application()
    app.cleanup_ctx.append(lsh_ctx)
    app.router.add_post("/dedup", dedup)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


if __name__ == "__main__":
    main()

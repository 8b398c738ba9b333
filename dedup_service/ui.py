"""The newsroom dashboard at /ui/: an HTML shell per page, the login, and the static script
and style it ships with (no CDN, so it works offline). The pages read the JSON API from
the browser; ``static/app.js`` draws them.

With API keys set, the pages need the session cookie that the login page sets for a valid
key (``security.ui_session``), and the API accepts that cookie only on requests carrying
``X-Dedup-UI: 1``, a header no cross-site form or link can send; the cookie is also
``SameSite=Strict``.
"""

from __future__ import annotations

import html
import time
from pathlib import Path
from urllib.parse import quote, urlsplit

from aiohttp import web

from .routes import API_KEYS
from .security import key_matches, ui_session

UI_COOKIE = "dedup_ui"
UI_HEADER = "X-Dedup-UI"
LOGIN_PATH = "/ui/login"
SESSION_SECONDS = 12 * 3600
STATIC = Path(__file__).parent / "static"

routes = web.RouteTableDef()

# what every page's head starts with (an empty icon: no request for /favicon.ico)
_HEAD = """<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">"""

_SHELL = """<!doctype html>
<html lang="en">
<head>
{head}
<title>{title} · dedup-service</title>
<link rel="stylesheet" href="/ui/static/app.css">
<script type="module" src="/ui/static/app.js"></script>
</head>
<body>
<header>
<a class="brand" href="/ui/">dedup-service</a>
<nav aria-label="pages"><a href="/ui/">Feed</a> <a href="/ui/check">Check</a> <a href="/ui/stats">Stats</a></nav>
{logout}
</header>
<main id="app" {data}><h1>{title}</h1><noscript>This page needs JavaScript.</noscript></main>
</body>
</html>
"""

_LOGOUT = """<form method="post" action="/ui/logout"><button type="submit">Sign out</button></form>"""

_LOGIN = """<!doctype html>
<html lang="en">
<head>
{head}
<title>Sign in · dedup-service</title>
<style>
body {{ font: 16px/1.5 system-ui, sans-serif; max-width: 24rem; margin: 4rem auto; padding: 0 1rem; }}
input, button {{ font: inherit; padding: .4rem; width: 100%; box-sizing: border-box; margin: .3rem 0; }}
.error {{ color: #a00; }}
</style>
</head>
<body>
<main>
<h1>dedup-service</h1>
<form method="post" action="{action}">
<label for="key">API key</label>
<input id="key" name="key" type="password" autocomplete="current-password" required autofocus>
<button type="submit">Sign in</button>
</form>
{error}
</main>
</body>
</html>
"""


def _page(request: web.Request, title: str, page: str, **data: str) -> web.Response:
    attrs = " ".join(f'data-{k}="{html.escape(v)}"' for k, v in {"page": page, **data}.items())
    logout = _LOGOUT if request.app[API_KEYS] else ""
    return _html(_SHELL.format(head=_HEAD, title=html.escape(title), data=attrs, logout=logout))


def _html(body: str, status: int = 200) -> web.Response:
    return web.Response(text=body, status=status, content_type="text/html", headers={"Cache-Control": "no-store"})


def _same_origin(request: web.Request) -> bool:
    """A form post from one of this service's own pages: its Origin (or Referer) names
    this host. Browsers send Origin with every cross-site post."""
    origin = request.headers.get("Origin") or request.headers.get("Referer") or ""
    return urlsplit(origin).netloc == request.host


def _next_page(value: str | None) -> str:
    """Where to go after signing in: a dashboard page only (never another site)."""
    return value if value and value.startswith("/ui/") and not value.startswith("//") else "/ui/"


@routes.get("/ui")
async def ui_root(request: web.Request) -> web.Response:
    raise web.HTTPPermanentRedirect("/ui/")


@routes.get("/ui/")
async def feed(request: web.Request) -> web.Response:
    return _page(request, "Story feed", "feed")


@routes.get("/ui/clusters/{cluster_id}")
async def cluster(request: web.Request) -> web.Response:
    return _page(request, "Cluster", "cluster", id=request.match_info["cluster_id"])


@routes.get("/ui/articles/{id}")
async def article(request: web.Request) -> web.Response:
    return _page(request, "Side by side", "article", id=request.match_info["id"], vs=request.query.get("vs", ""))


@routes.get("/ui/check")
async def check(request: web.Request) -> web.Response:
    return _page(request, "Check a text", "check")


@routes.get("/ui/stats")
async def stats(request: web.Request) -> web.Response:
    return _page(request, "Stats", "stats")


@routes.get(LOGIN_PATH)
async def login_form(request: web.Request) -> web.Response:
    if not request.app[API_KEYS]:
        raise web.HTTPSeeOther("/ui/")
    return _login(request, "", 200)


def _login(request: web.Request, error: str, status: int) -> web.Response:
    action = LOGIN_PATH + "?next=" + quote(_next_page(request.query.get("next")), safe="/")
    message = f'<p class="error" role="alert">{html.escape(error)}</p>' if error else ""
    return _html(_LOGIN.format(head=_HEAD, action=html.escape(action), error=message), status)


@routes.post(LOGIN_PATH)
async def login(request: web.Request) -> web.Response:
    keys = request.app[API_KEYS]
    if not keys:
        raise web.HTTPSeeOther("/ui/")
    if not _same_origin(request):
        return _login(request, "Sign in from this service's own page.", 403)
    form = await request.post()
    key = form.get("key")
    if not isinstance(key, str) or not key.isascii() or not key_matches(key, keys):
        return _login(request, "Unknown API key.", 401)
    response = web.HTTPSeeOther(_next_page(request.query.get("next")))
    expires = int(time.time()) + SESSION_SECONDS
    response.set_cookie(UI_COOKIE, ui_session(key.strip(), expires), max_age=SESSION_SECONDS, path="/",
                        httponly=True, samesite="Strict", secure=request.secure)  # fmt: skip
    raise response


@routes.post("/ui/logout")
async def logout(request: web.Request) -> web.Response:
    if not _same_origin(request):
        raise web.HTTPForbidden(text="sign out from this service's own page")
    response = web.HTTPSeeOther(LOGIN_PATH)
    response.del_cookie(UI_COOKIE, path="/")
    raise response


def setup(app: web.Application) -> None:
    app.add_routes(routes)
    app.router.add_static("/ui/static", STATIC, append_version=False)

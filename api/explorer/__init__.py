"""The in-browser explorer: GraphiQL at ``GET /graphql`` for a browser, outside production.

GraphiQL (3.8.3, with React 18.3.1) is served from this package's own ``static/`` folder, so
the page works on a machine with no route to a CDN and loads nothing from anywhere else; its
Content-Security-Policy says so to the browser too. It is on exactly when introspection is
(``Settings.is_development``): the docs pane is built from introspection, and production
refuses both. ``static/VERSIONS.md`` says where the vendored files come from.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from core.settings import Settings

STATIC_DIR = Path(__file__).parent / "static"
ASSETS_PATH = "/explorer"

# Scripts and styles only from this server; GraphiQL sets inline styles on its panes.
_CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)

_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <link rel="icon" href="data:,">
  <title>cardcrm explorer</title>
  <link rel="stylesheet" href="{assets}/graphiql.min.css">
  <link rel="stylesheet" href="{assets}/explorer.css">
</head>
<body data-endpoint="{endpoint}">
  <div id="explorer">Loading the explorer…</div>
  <script src="{assets}/react.production.min.js"></script>
  <script src="{assets}/react-dom.production.min.js"></script>
  <script src="{assets}/graphiql.min.js"></script>
  <script src="{assets}/explorer.js"></script>
</body>
</html>
"""


def explorer_enabled(settings: Settings) -> bool:
    return settings.is_development


def wants_explorer(request: Request) -> bool:
    """A browser asking for the endpoint itself: a GET that accepts HTML and carries no
    operation (a persisted query's GET has ``extensions``, a plain one ``query``)."""
    params = request.query_params
    return (
        request.method == "GET"
        and "text/html" in request.headers.get("accept", "")
        and "query" not in params
        and "extensions" not in params
    )


def explorer_page(request: Request) -> HTMLResponse:
    html = _PAGE.format(assets=ASSETS_PATH, endpoint=request.url.path)
    return HTMLResponse(
        html,
        headers={
            "Content-Security-Policy": _CONTENT_SECURITY_POLICY,
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


def explorer_routes(settings: Settings) -> list[Mount]:
    """The page's assets; none outside development, so production serves no explorer file."""
    if not explorer_enabled(settings):
        return []
    return [Mount(ASSETS_PATH, app=StaticFiles(directory=STATIC_DIR), name="explorer")]

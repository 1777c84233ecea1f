"""GraphiQL on a machine without internet: strawberry's own GraphiQL page, with the scripts
and styles it loads from unpkg.com served from the package instead (``_static/graphiql/``,
pinned to the versions the page names; see the README there), and in dev the Authorization
header of new tabs filled in with the development token that `ccm-gateway serve` printed."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

from starlette.staticfiles import StaticFiles
from strawberry.http.ides import get_graphql_ide_html

log = logging.getLogger("ccm_gateway")

STATIC_DIR = Path(__file__).resolve().parent / "_static" / "graphiql"
# Where the files are served, and how the page refers to them: relative to /graphql, so a
# path prefix in front of the gateway (CCM_PUBLIC_URL's) still finds them.
STATIC_ROUTE = "/static/graphiql"
_PAGE_PATH = STATIC_ROUTE.lstrip("/")
_CDN_URL = re.compile(r'https://unpkg\.com/([^"\'\s]+)')
# Where strawberry's page hands its headers to GraphiQL; GraphiQL's defaultHeaders (the
# headers of a new tab) goes beside it.
_HEADERS_PROP = "headers: headers,"


def graphiql_page(*, authorization: str | None = None) -> str:
    """Strawberry's GraphiQL page on the vendored files; ``authorization``: the value new
    tabs' Authorization header starts with."""
    page = _CDN_URL.sub(_vendored, get_graphql_ide_html("graphiql"))
    if authorization is not None:
        headers = json.dumps({"Authorization": authorization}, indent=2)
        # A JS string literal that cannot end the <script> it sits in.
        literal = json.dumps(headers).replace("<", "\\u003c")
        if _HEADERS_PROP in page:
            page = page.replace(_HEADERS_PROP, f"{_HEADERS_PROP} defaultHeaders: {literal},", 1)
        else:
            log.warning("GraphiQL: strawberry's page changed; the development token is not "
                        "filled in")
    return page


def _vendored(match: re.Match[str]) -> str:
    path = match.group(1)
    if not (STATIC_DIR / path).is_file():
        # A strawberry release that names other versions: the page still works online.
        log.warning("GraphiQL: %s is not vendored under %s; the page loads it from unpkg.com",
                    path, STATIC_DIR)
        return match.group(0)
    return f"{_PAGE_PATH}/{path}"


class _Immutable(StaticFiles):
    """Each file's path names its package version, so its content never changes."""

    def file_response(self, *args: Any, **kwargs: Any) -> Any:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response


def static_files() -> StaticFiles:
    return _Immutable(directory=STATIC_DIR)

"""GraphiQL works offline: the page strawberry renders loads every script and style from
the gateway itself (the files npm publishes, at the versions strawberry's page pins, with
its own integrity hashes), and only a dev page carries the development token.
tests/ops/test_ops_graphiql_browser.py loads it in headless Chromium."""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import replace
from html.parser import HTMLParser
from urllib.parse import urljoin

import httpx
import pytest
from strawberry.http.ides import get_graphql_ide_html

from ccm_gateway.app import create_app
from ccm_gateway.config import Settings

BASE = "http://ccm.test"


class Assets(HTMLParser):
    """The (url, integrity) of each <script src> and <link rel=stylesheet> of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script" and values.get("src"):
            self.found.append((values["src"], values.get("integrity")))  # type: ignore[arg-type]
        if tag == "link" and values.get("rel") == "stylesheet":
            self.found.append((values["href"], values.get("integrity")))  # type: ignore[arg-type]


def assets(page: str) -> list[tuple[str, str | None]]:
    parser = Assets()
    parser.feed(page)
    return parser.found


async def get(app, path: str, **headers: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        return await client.get(path, headers=headers)


async def ide_page(app) -> str:
    response = await get(app, "/graphql", accept="text/html")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    return response.text


async def test_every_script_and_style_comes_from_the_gateway_with_its_pinned_hash():
    app = create_app(Settings())
    page = await ide_page(app)
    pinned = assets(get_graphql_ide_html("graphiql"))
    assert len(pinned) == 7 and all(url.startswith("https://unpkg.com/") for url, _ in pinned)

    served = assets(page)

    assert "unpkg.com" not in page and not re.search(r"""(src|href)=["']?https?:""", page)
    assert [integrity for _, integrity in served] == [integrity for _, integrity in pinned]
    for (url, integrity), (cdn_url, _) in zip(served, pinned, strict=True):
        assert url == "static/graphiql/" + cdn_url.removeprefix("https://unpkg.com/")
        response = await get(app, urljoin("/graphql", url))
        assert response.status_code == 200, url
        algorithm, _, expected = integrity.partition("-")
        digest = base64.b64encode(hashlib.new(algorithm, response.content).digest()).decode()
        assert digest == expected, f"{url} is not the file the page pins"
        kind = "text/css" if url.endswith(".css") else "text/javascript"
        assert response.headers["content-type"].startswith(kind), url
        assert "immutable" in response.headers["cache-control"]


async def test_a_dev_page_fills_new_tabs_authorization_with_the_token():
    page = await ide_page(create_app(Settings(), graphiql_token="dev.token.value"))

    assert page.count("defaultHeaders:") == 1
    assert r'"{\n  \"Authorization\": \"Bearer dev.token.value\"\n}"' in page


async def test_a_dev_page_for_a_browser_elsewhere_has_no_token():
    app = create_app(Settings(), graphiql_token="dev.token.value")
    transport = httpx.ASGITransport(app=app, client=("203.0.113.5", 50000))
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        page = (await client.get("/graphql", headers={"accept": "text/html"})).text

    assert "dev.token.value" not in page and "Authorization" not in page
    assert "graphiql" in page.lower()  # the IDE itself is still served


async def test_a_token_cannot_close_the_script_it_is_written_into():
    page = await ide_page(create_app(Settings(), graphiql_token="</script><b>x"))

    assert "</script><b>" not in page
    assert r"\u003c/script>\u003cb>x" in page


@pytest.mark.parametrize("token", [None, "dev.token.value"])
async def test_a_page_without_a_token_or_outside_dev_has_no_authorization(token):
    prod = replace(Settings(), env="prod", graphiql=True)
    pages = [await ide_page(create_app(prod, graphiql_token=token))]
    if token is None:
        pages.append(await ide_page(create_app(Settings())))

    for page in pages:
        assert "defaultHeaders:" not in page and "Authorization" not in page
        assert "dev.token.value" not in page


async def test_without_graphiql_there_are_no_static_files():
    app = create_app(replace(Settings(), graphiql=False))

    response = await get(app, "/static/graphiql/graphiql@3.8.3/graphiql.min.js")

    assert response.status_code == 404

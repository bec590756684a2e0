"""The explorer: GraphiQL from the project's own files, driven in a real headless Chromium.

Given the development server, when a browser opens ``/graphql``, then GraphiQL loads with
nothing from outside the server, runs a query with the token typed into its Headers tab and
shows the answer; in production the page and its files are not served.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.wait import WebDriverWait

from core.settings import Environment, Settings
from tests.api.conftest import serving
from tests.conftest import Server, World, staff_token

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
QUERY = "query Explorer { viewer { username role } customers(first: 2) { totalCount } }"
BROWSER_WAIT_SECONDS = 30
ASSETS = (
    "/explorer/graphiql.min.js",
    "/explorer/graphiql.min.css",
    "/explorer/react.production.min.js",
    "/explorer/react-dom.production.min.js",
    "/explorer/explorer.js",
)


def _chromium_flags() -> list[str]:
    """As root, in a closed network: no sandbox, and none of Chromium's own calls home."""
    return [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1400,900",
    ]


@contextmanager
def chromium() -> Iterator[webdriver.Chrome]:
    if CHROMIUM is None or CHROMEDRIVER is None:
        pytest.skip(
            "Chromium and ChromeDriver are not installed (Debian: chromium chromium-driver)"
        )
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in _chromium_flags():
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()


def run_query_in_explorer(base_url: str, token: str) -> tuple[str, list[dict[str, object]]]:
    """What a developer does: open the page, put the token in the Headers tab (GraphiQL keeps
    it in local storage), write a query, press run; returns the result pane's text and the
    browser console's entries from the load with the token on."""
    with chromium() as driver:
        wait = WebDriverWait(driver, BROWSER_WAIT_SECONDS)
        driver.get(f"{base_url}/graphql")
        wait.until(
            expected_conditions.presence_of_element_located((By.CLASS_NAME, "graphiql-container"))
        )
        headers = json.dumps({"Authorization": f"Bearer {token}"})
        driver.execute_script(
            "localStorage.setItem('graphiql:headers', arguments[0]);"
            "localStorage.setItem('graphiql:query', arguments[1]);",
            headers,
            QUERY,
        )
        driver.get_log("browser")  # drained: the first load introspected without a token
        driver.refresh()
        run = wait.until(
            expected_conditions.element_to_be_clickable((By.CLASS_NAME, "graphiql-execute-button"))
        )
        run.click()
        try:
            wait.until(lambda d: _shown_result(d) is not None)
        except TimeoutException:
            pytest.fail(f"no result shown; the pane says: {_result_text(driver)!r}")
        return _result_text(driver), driver.get_log("browser")


def _result_text(driver: webdriver.Chrome) -> str:
    """The whole text of the result pane, from its editor (CodeMirror draws only the lines
    in view, so the pane's DOM text can lack some while it renders)."""
    text = driver.execute_script(
        "const pane = document.querySelector('.result-window .CodeMirror');"
        "return pane && pane.CodeMirror ? pane.CodeMirror.getValue() : '';"
    )
    return str(text)


def _shown_result(driver: webdriver.Chrome) -> dict[str, object] | None:
    """The answer the pane shows once it is complete JSON holding the query's data."""
    try:
        shown = json.loads(_result_text(driver))
    except json.JSONDecodeError:
        return None
    return shown if isinstance(shown, dict) and "customers" in (shown.get("data") or {}) else None


async def test_a_browser_gets_the_explorer_page_from_the_servers_own_files(server: Server) -> None:
    page = await server.client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "http" not in page.text.replace(server.base_url, "")  # no CDN, no other origin
    for path in ASSETS:
        asset = await server.client.get(path)
        assert asset.status_code == 200, path
        assert len(asset.content) > 0


async def test_a_get_that_carries_an_operation_is_still_graphql_not_the_page(
    server: Server, world: World
) -> None:
    token = staff_token(server, world, "demo-supervisor")
    response = await server.client.get(
        "/graphql",
        params={"query": "{ viewer { username } }"},
        headers={"Accept": "text/html, application/json", "Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200
    assert response.json()["data"]["viewer"]["username"] == "demo-supervisor"


async def test_the_explorer_runs_a_query_with_a_token_in_headless_chromium(
    server: Server, world: World
) -> None:
    token = staff_token(server, world, "demo-supervisor")
    started = time.monotonic()
    text, console = await asyncio.to_thread(run_query_in_explorer, server.base_url, token)
    shown = json.loads(text)
    assert shown["data"]["viewer"] == {"username": "demo-supervisor", "role": "SUPERVISOR"}
    assert shown["data"]["customers"]["totalCount"] > 0
    assert "errors" not in shown
    severe = [entry for entry in console if entry.get("level") == "SEVERE"]
    assert severe == [], severe  # no blocked script, no failed asset, no CSP violation
    assert time.monotonic() - started < 2 * BROWSER_WAIT_SECONDS


async def test_production_serves_no_explorer(settings: Settings) -> None:
    production = settings.model_copy(update={"environment": Environment.PRODUCTION})
    async with (
        serving(production) as (base_url, _app),
        httpx.AsyncClient(base_url=base_url) as client,
    ):
        page = await client.get("/graphql", headers={"Accept": "text/html"})
        assert page.status_code == 401
        assert "text/html" not in page.headers["content-type"]
        for path in ASSETS:
            assert (await client.get(path)).status_code == 404, path

"""A run without PostGraphile (bench/postgraphile.py ``install_for_run``): when it cannot
be installed, the run goes on and the report says why. Installing for real is
``python -m bench.postgraphile install``; these cases need no registry at all."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bench import postgraphile
from bench.report import render, targets
from tests.bench.test_report import RESULT


def test_without_npm_the_reason_is_that_npm_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    availability = postgraphile.install_for_run(tmp_path / "peer")
    assert availability.installation is None
    assert availability.reason == "npm is needed to install PostGraphile: apt-get install npm"
    assert availability.facts() == {"installed": False, "reason": availability.reason}


@pytest.mark.skipif(
    shutil.which("npm") is None, reason="needs the npm client (apt-get install npm)"
)
def test_with_no_registry_reachable_npm_fails_and_that_is_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a registry nobody listens on, an empty cache and no retries
    monkeypatch.setenv("npm_config_registry", "http://127.0.0.1:9/")
    monkeypatch.setenv("npm_config_cache", str(tmp_path / "cache"))
    monkeypatch.setenv("npm_config_fetch_retries", "0")
    monkeypatch.setenv("npm_config_offline", "false")
    availability = postgraphile.install_for_run(tmp_path / "peer")
    assert availability.installation is None
    assert availability.reason is not None
    assert availability.reason.startswith("`npm ci` failed with exit status ")
    assert availability.reason.endswith("(npm registry unreachable?)")


def test_the_report_says_postgraphile_was_not_run_and_why() -> None:
    reason = "npm is needed to install PostGraphile: apt-get install npm"
    result = {**RESULT, "peers": {"postgraphile": {"installed": False, "reason": reason}}}
    markdown = render(result)
    assert f"- PostGraphile: **not run**: {reason}." in markdown
    target = next(t for t in targets(result) if "PostGraphile" in t.name)
    assert target.met is None
    assert target.measured == f"PostGraphile not run: {reason}"
    assert f"| W1 ≥ 1.0× PostGraphile | PostGraphile not run: {reason} | not measured |" in markdown

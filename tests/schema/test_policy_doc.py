"""The policy table is printed into the docs; the committed copy must not drift from the code."""

from __future__ import annotations

from api.cli.schema import POLICY_PATH, policy_markdown


def test_docs_policy_table_matches_auth_policy() -> None:
    assert POLICY_PATH.read_text(encoding="utf-8") == policy_markdown(), (
        "docs/POLICY.md is stale: run `cardcrm schema policy` and commit it"
    )

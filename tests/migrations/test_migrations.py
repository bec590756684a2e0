"""The Alembic migrations: they build exactly the models' schema, go down and up again, and
the server refuses a database they have not been run on."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

import migrations
import models
from migrations import DatabaseNotMigrated, assert_migrated, current_revision, head_revision
from tests.models.conftest import FreshDatabase


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": True}
    )
    return list(compare_metadata(context, models.metadata))


def _table_names(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def _schema_of(fresh: FreshDatabase) -> tuple[set[str], str | None, list[Any]]:
    async with fresh.database() as database, database.engine.connect() as connection:
        tables = await connection.run_sync(_table_names)
        differences = await connection.run_sync(_differences)
        revision = await current_revision(database.engine)
    return tables, revision, differences


async def test_upgrade_downgrade_to_base_and_upgrade_again(empty_database: FreshDatabase) -> None:
    await asyncio.to_thread(migrations.upgrade, empty_database.url)
    tables, revision, _ = await _schema_of(empty_database)
    assert set(models.metadata.tables) <= tables
    assert revision == head_revision()

    await asyncio.to_thread(migrations.downgrade, empty_database.url, "base")
    tables, revision, _ = await _schema_of(empty_database)
    assert tables <= {"alembic_version"}
    assert revision is None

    await asyncio.to_thread(migrations.upgrade, empty_database.url)
    tables, revision, differences = await _schema_of(empty_database)
    assert set(models.metadata.tables) <= tables
    assert revision == head_revision()
    assert differences == []


async def test_the_migrated_schema_is_exactly_the_models(fresh_database: FreshDatabase) -> None:
    _, _, differences = await _schema_of(fresh_database)
    assert differences == [], (
        "the models and the migrations disagree; write a migration "
        "(alembic revision --autogenerate) for these differences"
    )


async def test_the_audit_log_is_append_only_right_after_migrating(
    fresh_database: FreshDatabase,
) -> None:
    async with fresh_database.database() as database, database.engine.connect() as connection:
        if database.is_sqlite:
            query = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
        else:
            query = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
        triggers = set((await connection.execute(text(query))).scalars())
    if fresh_database.is_sqlite:
        assert {"audit_entries_no_update", "audit_entries_no_delete"} <= triggers
    else:
        assert "audit_entries_no_change" in triggers


KEPT_AGGREGATE_TRIGGERS = {
    f"{kept}_on_{event}"
    for kept, events in (
        ("customer_counts", ("insert", "delete", "update")),
        ("purchase_spans", ("insert", "delete", "update", "card_move")),
    )
    for event in events
}


async def test_the_kept_aggregates_triggers_exist_right_after_migrating(
    fresh_database: FreshDatabase,
) -> None:
    """customer_counts and purchase_spans are exact only while their triggers exist; a
    migration rebuilding customers, cards or transactions on SQLite would drop them."""
    async with fresh_database.database() as database, database.engine.connect() as connection:
        if database.is_sqlite:
            query = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
        else:
            query = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
        triggers = set((await connection.execute(text(query))).scalars())
    assert triggers >= KEPT_AGGREGATE_TRIGGERS


async def test_an_empty_database_is_refused_with_the_command_that_fixes_it(
    empty_database: FreshDatabase,
) -> None:
    async with empty_database.database() as database:
        with pytest.raises(DatabaseNotMigrated, match="run `cardcrm db upgrade`"):
            await assert_migrated(database.engine)

        await asyncio.to_thread(migrations.upgrade, empty_database.url)

        await assert_migrated(database.engine)


async def test_a_database_at_another_revision_is_refused_naming_both_revisions(
    fresh_database: FreshDatabase,
) -> None:
    async with fresh_database.database() as database:
        async with database.engine.begin() as connection:
            await connection.execute(text("UPDATE alembic_version SET version_num = 'abc123'"))
        with pytest.raises(DatabaseNotMigrated) as refused:
            await assert_migrated(database.engine)
    message = str(refused.value)
    assert "abc123" in message
    assert head_revision() in message
    assert "`cardcrm db upgrade`" in message


async def test_the_schema_comparison_would_notice_a_missing_index(
    fresh_database: FreshDatabase,
) -> None:
    async with fresh_database.database() as database, database.engine.begin() as connection:
        await connection.execute(text("DROP INDEX ix_customers_phone_bidx"))
    _, _, differences = await _schema_of(fresh_database)
    assert [(kind, index.name) for kind, index in differences] == [
        ("add_index", "ix_customers_phone_bidx")
    ]

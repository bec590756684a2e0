"""Whose data each sealed column holds (models/privacy/subjects.py): every sealed table is
classified, every path leads to a customer, and the demo's values are each sealed under the
key of the customer the path names."""

from __future__ import annotations

import pytest
from sqlalchemy import select

import models
from api.demo.seed import seed_demo
from core.encryption import customer_of
from models.columns import encrypted_columns
from models.privacy.subjects import NOT_PERSONAL, SUBJECTS
from tests.models.conftest import FreshDatabase


def test_every_table_with_a_sealed_column_is_a_subject_or_declared_not_personal() -> None:
    sealed_tables = {table.name for table, _ in encrypted_columns(models.metadata)}
    assert sealed_tables == SUBJECTS.keys() | NOT_PERSONAL
    assert not SUBJECTS.keys() & NOT_PERSONAL


@pytest.mark.parametrize("table_name", sorted(SUBJECTS))
def test_every_path_names_a_column_that_leads_to_a_customer(table_name: str) -> None:
    path = SUBJECTS[table_name]
    table = models.metadata.tables[table_name]
    assert path.column in table.c
    target = table_name if path.parent is None else path.parent
    if path.parent is not None:
        assert "customer_id" in models.metadata.tables[path.parent].c
        (foreign_key,) = table.c[path.column].foreign_keys
        assert foreign_key.column.table.name == path.parent
    elif table_name != "customers":
        (foreign_key,) = table.c[path.column].foreign_keys
        assert foreign_key.column.table.name == "customers"
    assert target in models.metadata.tables


async def test_each_seeded_value_is_sealed_under_its_own_customers_key(
    fresh_database: FreshDatabase,
) -> None:
    async with fresh_database.database() as database:
        ring = await fresh_database.key_ring(database)
        async with database.session() as session:
            await seed_demo(session, ring, customers=8, seed=5)
        checked = 0
        async with database.session() as session:
            for table, column in encrypted_columns(models.metadata):
                path = SUBJECTS.get(table.name)
                if path is None:
                    continue
                rows = await session.execute(
                    select(table.c[column], path.owner(table)).where(table.c[column].is_not(None))
                )
                for sealed, customer_id in rows:
                    assert customer_of(sealed) == customer_id, f"{table.name}.{column}"
                    checked += 1
        assert checked > 8 * 5  # names, phones, cards, notes, ... of every customer

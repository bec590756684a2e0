"""The export document: a section for every sealed table, read set-based, values opened.

Given the sealed tables of ``SUBJECTS``, then each is a section of the document (so a sealed
table added tomorrow fails here until the export reads it); given a customer with one row
per table and one with several, then the document costs the same number of statements; and
no sealed column or blind index reaches the document, only its opened value.
"""

from __future__ import annotations

import random
import uuid

from sqlalchemy import inspect

from models.columns import utcnow
from models.privacy.subjects import SUBJECTS
from models.sealing import seal_field
from models.service_desk.complaint import Complaint
from models.service_desk.interaction import Interaction
from resolvers.privacy.export_document import SECTIONS, build_document, document_json
from tests.conftest import Server
from tests.support import World, add_customer


def test_every_sealed_table_of_a_customer_is_a_section_of_the_export() -> None:
    sections = {section.table for section in SECTIONS}
    assert set(SUBJECTS) <= sections
    assert len(sections) == len(SECTIONS)  # no table twice


async def _with_rows(server: Server, world: World, rows: int) -> uuid.UUID:
    """A customer with ``rows`` complaints and interactions, each with its sealed text."""
    customer_id = await add_customer(server.state, world, seed=random.randrange(10**9))
    ring = server.state.key_ring
    async with server.state.database.session() as session:
        branch_id = world.branches["BJ-CY"].id
        for index in range(rows):
            complaint = Complaint(
                customer_id=customer_id,
                branch_id=branch_id,
                category="fees",
                channel="app",
                severity="low",
                due_at=utcnow(),
            )
            seal_field(ring, complaint, "description", f"年费投诉 {index}")
            interaction = Interaction(
                customer_id=customer_id,
                channel="phone",
                direction="inbound",
                kind="service",
                subject="年费",
                occurred_at=utcnow(),
            )
            seal_field(ring, interaction, "notes", f"回访记录 {index}")
            session.add_all([complaint, interaction])
        await session.commit()
    return customer_id


async def _statements(server: Server, customer_id: uuid.UUID) -> tuple[dict[str, object], int]:
    database = server.state.database
    async with database.session() as session:
        before = database.statements_executed
        document = await build_document(session, server.state.key_ring, customer_id, now=utcnow())
        return document, database.statements_executed - before


async def test_the_document_is_read_set_based_with_every_value_opened(
    server: Server, world: World
) -> None:
    _, one_count = await _statements(server, await _with_rows(server, world, 1))
    many, many_count = await _statements(server, await _with_rows(server, world, 4))
    assert many_count == one_count <= len(SECTIONS) + 1  # one per section, and the tier
    tables = many["tables"]
    assert isinstance(tables, dict)
    assert sorted(c["description"] for c in tables["complaints"]) == [
        f"年费投诉 {i}" for i in range(4)
    ]
    assert sorted(i["notes"] for i in tables["interactions"]) == [f"回访记录 {i}" for i in range(4)]
    text = document_json(many)
    for section in SECTIONS:
        for column in inspect(section.model).columns:
            if column.key.endswith(("_enc", "_bidx")):
                assert f'"{column.key}"' not in text, column.key

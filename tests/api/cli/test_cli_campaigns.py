"""``cardcrm campaigns run`` and ``cardcrm messages send`` as subprocesses on a database of
the test's own: a scheduled campaign that is due launches as its author (one message per
consenting customer), a second run launches nothing; the development sender then records
each message in var/outbox with the masked phone only, marks them sent, and each run is
audited."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlmodel import col

from auth.masking import mask_phone
from models.audit.audit import AuditEntry
from models.columns import utcnow
from models.customer_keys import new_customer_key_row
from models.customers.customer import Customer
from models.customers.segment import SavedSegment
from models.growth.tier import Tier
from models.organisation.organisation import Branch, StaffUser
from models.outreach.campaign import Campaign, CampaignStatus
from models.outreach.message import MessageStatus, OutboundMessage
from models.sealing import open_field, seal_field
from resolvers.outreach.launch import LAUNCH_ACTION
from tests.models.conftest import FreshDatabase

pytestmark = pytest.mark.slow
PHONES = ("13800000001", "13800000002", "13800000003")


async def test_a_due_campaign_launches_once_and_its_messages_are_recorded(
    fresh_database: FreshDatabase,
) -> None:
    async with fresh_database.database() as database:
        ring = await fresh_database.key_ring(database)
        async with database.session() as session:
            branch, tier = Branch(code="BJ", name="北京"), Tier(code="gold", name="金卡", rank=3)
            session.add_all([branch, tier])
            await session.flush()
            marketer = StaffUser(
                username="m1", display_name="M", role="marketer", password_hash="x"
            )
            session.add(marketer)
            for index, phone in enumerate((*PHONES, "13800000004")):
                customer = Customer(
                    branch_id=branch.id, tier_id=tier.id, tags=["dining"], consent_sms=index < 3
                )
                session.add(new_customer_key_row(ring, customer.id))
                seal_field(ring, customer, "phone", phone)
                seal_field(ring, customer, "name", "张三丰")
                session.add(customer)
            await session.flush()
            segment = SavedSegment(
                name="dining", filter={"tags": ["dining"]}, created_by=str(marketer.id)
            )
            session.add(segment)
            await session.flush()
            session.add(
                Campaign(
                    name="春季用卡礼",
                    segment_id=segment.id,
                    template="{name}您好，{tier}会员专享",
                    control_percent=0,
                    status=CampaignStatus.SCHEDULED.value,
                    scheduled_at=utcnow() - timedelta(minutes=1),
                    created_by=marketer.id,
                )
            )
            await session.commit()

        first = await fresh_database.run_cli("campaigns", "run")
        again = await fresh_database.run_cli("campaigns", "run")
        assert first.returncode == again.returncode == 0, first.stderr
        assert (
            "launched 春季用卡礼: audience 4, control 0, messaged 3, no consent 1" in first.stdout
        )
        assert first.stdout.strip().endswith("1 campaigns launched")
        assert again.stdout.strip() == "0 campaigns launched"

        sent = await fresh_database.run_cli("messages", "send")
        assert sent.returncode == 0, sent.stderr
        assert sent.stdout.strip() == "messages sent 3, failed 0, cancelled 0"

        outbox = fresh_database.settings.var_dir / "outbox" / "messages.jsonl"
        lines = [json.loads(line) for line in outbox.read_text().splitlines()]
        assert sorted(line["to"] for line in lines) == sorted(mask_phone(p) for p in PHONES)
        assert not any(phone in outbox.read_text() for phone in PHONES)
        async with database.session() as session:
            messages = list(await session.scalars(select(OutboundMessage)))
            actions = list(await session.scalars(select(col(AuditEntry.action))))
        assert {m.status for m in messages} == {MessageStatus.SENT.value}
        assert {open_field(ring, m, "body") for m in messages} == {"张*丰您好，金卡会员专享"}
        assert actions.count(LAUNCH_ACTION) == 1
        assert actions.count("messages.send") == 1

"""``cardcrm import customers`` as a subprocess, on a database of the test's own: a file's
customers arrive with their cards, sealed; a re-run creates nothing and says so; bad lines
are reported by line with the reason and the rest goes on; only a file that cannot be
imported at all fails the command; an agent reads the imported customers masked."""

from __future__ import annotations

import csv
import json
import random
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from core.identity import Role
from models.audit.audit import AuditEntry
from models.cards.card import Card
from models.customers.customer import Customer
from models.customers.identifiers import (
    generate_mobile,
    generate_national_id,
    generate_unionpay_pan,
)
from models.events.outbox import OutboxEvent
from models.organisation.organisation import StaffUser
from tests.api.conftest import serving
from tests.models.conftest import FreshDatabase

pytestmark = pytest.mark.slow

HEADER = (
    "customer_number,name,birth_date,id_number,phone,branch_code,tier_code,tags,consent_sms,"
    "card1_pan,card1_credit_limit,card1_product,card2_pan,card2_credit_limit"
)
SUMMARY = "read {read} customers from {lines} lines: {imported} imported with {cards} cards, "
AGENT_READS = """
query { customers(first: 10) { edges { node {
  name idNumber phone customerNumber tier { code } cards { pan last4 }
} } } }
"""


@dataclass
class Person:
    number: str
    name: str
    born: date
    id_number: str
    phone: str
    pans: tuple[str, ...]

    def csv_line(self, branch: str = "BJ-CY") -> str:
        cards = [f"{pan},50000.00" for pan in self.pans] + [","] * (2 - len(self.pans))
        first, second = cards[0], cards[1]
        product = "UnionPay Gold" if self.pans else ""
        pan1, limit1 = first.split(",")
        return (
            f"{self.number},{self.name},{self.born},{self.id_number},{self.phone},{branch},"
            f"gold,vip;imported,yes,{pan1},{limit1},{product},{second}\n"
        )

    def json_line(self) -> str:
        return json.dumps(
            {
                "customer_number": self.number,
                "name": self.name,
                "birth_date": str(self.born),
                "id_number": self.id_number,
                "phone": self.phone,
                "branch_code": "SH-PD",
                "consent": {"sms": True, "email": False},
                "cards": [{"pan": pan, "credit_limit": 30000} for pan in self.pans],
            },
            ensure_ascii=False,
        )


def people(count: int, seed: int, *, cards: int = 1) -> list[Person]:
    rng = random.Random(seed)
    found = []
    for i in range(count):
        born = date(1970, 1, 1) + timedelta(days=rng.randrange(15000))
        pans = tuple(generate_unionpay_pan(rng) for _ in range(cards))
        found.append(
            Person(
                f"CIF-{seed:02d}-{i:06d}",
                f"王{'小明大'[i % 3]}{i}",
                born,
                generate_national_id(rng, born),
                generate_mobile(rng),
                pans,
            )
        )
    return found


async def seeded(fresh: FreshDatabase) -> None:
    done = await fresh.run_cli(
        "seed", "--demo", "--customers", "3", "--seed", "4", "--purchases-per-customer", "0"
    )
    assert done.returncode == 0, done.stderr


async def counts(fresh: FreshDatabase) -> tuple[int, int, int]:
    """Customers with a customer number, all cards, and audit entries of imports."""
    async with fresh.database() as database, database.session() as session:
        numbered = await session.scalar(
            select(func.count()).where(col(Customer.customer_number_bidx).is_not(None))
        )
        cards = await session.scalar(select(func.count()).select_from(Card))
        audited = await session.scalar(
            select(func.count()).where(col(AuditEntry.action).startswith("customer.import"))
        )
    return int(numbered or 0), int(cards or 0), int(audited or 0)


def summary(read: int, lines: int, imported: int, cards: int, present: int, rejected: int) -> str:
    return (
        SUMMARY.format(read=read, lines=lines, imported=imported, cards=cards)
        + f"{present} already present, {rejected} rejected"
    )


async def _customer_ids(session: AsyncSession) -> list[str]:
    numbered = col(Customer.customer_number_bidx).is_not(None)
    return [str(i) for i in await session.scalars(select(Customer.id).where(numbered))]


async def test_a_file_imports_its_customers_with_their_cards_and_a_rerun_creates_nothing(
    fresh_database: FreshDatabase, tmp_path: Path
) -> None:
    # Given a CSV of 30 customers (the first with two cards) and a JSON Lines file of 20
    await seeded(fresh_database)
    _, cards_before, _ = await counts(fresh_database)
    in_csv = people(30, 1)
    in_csv[0] = people(1, 9, cards=2)[0]
    feed = tmp_path / "customers.csv"
    feed.write_text(HEADER + "\n" + "".join(person.csv_line() for person in in_csv))
    lines = tmp_path / "customers.jsonl"
    lines.write_text("\n".join(person.json_line() for person in people(20, 2)) + "\n")

    # When both are imported, in chunks of 7, then both again
    first = await fresh_database.run_cli("import", "customers", str(feed), "--chunk-size", "7")
    as_jsonl = await fresh_database.run_cli("import", "customers", str(lines))
    again = await fresh_database.run_cli("import", "customers", str(feed))
    jsonl_again = await fresh_database.run_cli("import", "customers", str(lines))

    # Then every customer arrived once, with their cards, and the re-runs created nothing
    for done in (first, as_jsonl, again, jsonl_again):
        assert done.returncode == 0, done.stderr
    assert "importing customers" in first.stdout
    assert "100%" in first.stdout
    assert summary(30, 31, 30, 31, 0, 0) in first.stdout
    assert summary(20, 20, 20, 20, 0, 0) in as_jsonl.stdout
    assert summary(30, 31, 0, 0, 30, 0) in again.stdout
    assert summary(20, 20, 0, 0, 20, 0) in jsonl_again.stdout
    numbered, cards, audited = await counts(fresh_database)
    assert (numbered, cards - cards_before) == (50, 51)
    # One entry per written chunk (5 of at most 7 lines, then 1 a file), and one per run.
    assert audited == (5 + 1 + 1 + 1) + 4
    # Other systems learn of each new customer once, as of one created through the API.
    async with fresh_database.database() as database, database.session() as session:
        created = await session.scalars(
            select(OutboxEvent.aggregate_id).where(col(OutboxEvent.type) == "customer.created")
        )
        assert sorted(created) == sorted(await _customer_ids(session))
    # And the values are sealed: no clear national ID, name or customer number in the file
    if fresh_database.is_sqlite:
        raw = fresh_database.sqlite_path.read_bytes()
        for person in in_csv[:5]:
            for clear in (person.id_number, person.name, person.number.replace("-", "")):
                assert clear.encode() not in raw
    verified = await fresh_database.run_cli("audit", "verify")
    assert verified.returncode == 0, verified.stderr


async def test_bad_lines_are_reported_by_line_with_a_reason_and_the_rest_goes_on(
    fresh_database: FreshDatabase, tmp_path: Path
) -> None:
    await seeded(fresh_database)
    good, check_digit, luhn, twin, no_phone, unknown_branch, last = people(7, 3)
    wrong_check = "0" if check_digit.id_number[-1] != "0" else "1"
    check_digit.id_number = check_digit.id_number[:-1] + wrong_check
    luhn.pans = (luhn.pans[0][:-1] + str((int(luhn.pans[0][-1]) + 1) % 10),)
    twin.id_number = good.id_number  # another customer number, the same national ID
    twin.born = good.born
    no_phone.phone = ""
    feed = tmp_path / "bad.csv"
    feed.write_text(
        HEADER
        + "\n"
        + good.csv_line()
        + check_digit.csv_line()
        + luhn.csv_line()
        + twin.csv_line()
        + no_phone.csv_line()
        + unknown_branch.csv_line(branch="XX-00")
        + last.csv_line()
    )
    lines = tmp_path / "bad.jsonl"
    shared_card = people(1, 4)[0]
    shared_card.pans = good.pans  # a card number registered to `good` by the CSV
    lines.write_text(
        people(1, 5)[0].json_line()
        + "\n"
        + '{"customer_number": "CIF-77", "name": \n'
        + shared_card.json_line()
        + "\n"
        + json.dumps({"customer_number": "CIF-78"})
        + "\n"
    )
    rejects = tmp_path / "rejects.csv"

    done = await fresh_database.run_cli(
        "import", "customers", str(feed), "--rejects", str(rejects), "--max-errors", "4"
    )
    from_jsonl = await fresh_database.run_cli("import", "customers", str(lines))

    assert done.returncode == from_jsonl.returncode == 0, done.stderr + from_jsonl.stderr
    assert summary(7, 8, 2, 2, 0, 5) in done.stdout
    assert "line 3: idNumber: national ID check digit is wrong: expected" in done.stdout
    assert "line 4: cards[0].pan: card number check digit is wrong: expected" in done.stdout
    assert "line 5: a customer with this national ID already exists" in done.stdout
    assert "line 6: phone is missing" in done.stdout
    assert "line 7" not in done.stdout  # beyond --max-errors 4, counted
    assert "… and 1 more" in done.stdout
    with rejects.open() as written:
        rows = list(csv.reader(written))
    assert rows[0] == ["line", "reason"]
    assert [row[0] for row in rows[1:]] == ["3", "4", "5", "6", "7"]
    assert rows[5][1] == "branch_code XX-00 names no branch"
    assert good.id_number not in rejects.read_text()

    assert summary(4, 4, 1, 1, 0, 3) in from_jsonl.stdout
    assert "line 2: is not valid JSON" in from_jsonl.stdout
    assert "line 3: a card with this number is already registered" in from_jsonl.stdout
    assert "line 4: name is missing" in from_jsonl.stdout
    numbered, _, _ = await counts(fresh_database)
    assert numbered == 3


async def test_only_a_file_that_cannot_be_imported_at_all_fails_the_command(
    fresh_database: FreshDatabase, tmp_path: Path
) -> None:
    headless = tmp_path / "headless.csv"
    headless.write_text("customer_number,name,colour\nCIF1,x,red\n")
    unknown = tmp_path / "customers.txt"
    unknown.write_text("{}\n")
    missing = await fresh_database.run_cli("import", "customers", str(tmp_path / "none.csv"))
    header = await fresh_database.run_cli("import", "customers", str(headless))
    format_ = await fresh_database.run_cli("import", "customers", str(unknown))
    assert (missing.returncode, header.returncode, format_.returncode) == (1, 1, 1)
    for done in (missing, header, format_):
        assert "Traceback" not in done.stdout + done.stderr
    assert "No such file" in missing.stderr
    assert "missing: birth_date, id_number, phone, branch_code; unknown: colour" in header.stderr
    assert "pass --format" in format_.stderr


async def test_an_agent_reads_the_imported_customers_masked_through_the_api(
    fresh_database: FreshDatabase, tmp_path: Path
) -> None:
    await seeded(fresh_database)
    imported = people(3, 6, cards=2)
    feed = tmp_path / "customers.csv"
    feed.write_text(HEADER + "\n" + "".join(person.csv_line() for person in imported))
    done = await fresh_database.run_cli("import", "customers", str(feed))
    assert done.returncode == 0, done.stderr

    async with serving(fresh_database.settings) as (base_url, app):
        state = app.state.cardcrm
        async with state.database.session() as session:
            agent = await session.scalar(
                select(StaffUser).where(col(StaffUser.username) == "demo-agent")
            )
        assert agent is not None
        token = state.tokens.issue(
            subject=str(agent.id),
            role=Role.AGENT,
            client_id="cardcrm-console",
            branch_id=agent.branch_id,
            username=agent.username,
        )
        async with httpx.AsyncClient(base_url=base_url) as client:
            response = await client.post(
                "/graphql",
                json={"query": AGENT_READS},
                headers={"Authorization": f"Bearer {token}"},
            )
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    nodes = [edge["node"] for edge in body["data"]["customers"]["edges"]]
    by_last4 = {node["customerNumber"][-4:]: node for node in nodes if node["customerNumber"]}
    for person in imported:
        node = by_last4[person.number[-4:]]
        assert node["name"] == person.name[0] + "*" * (len(person.name) - 2) + person.name[-1]
        assert node["idNumber"] == person.id_number[:3] + "*" * 11 + person.id_number[-4:]
        assert node["phone"] == person.phone[:3] + "****" + person.phone[-4:]
        clear_number = person.number.replace("-", "")
        assert node["customerNumber"] == "*" * (len(clear_number) - 4) + clear_number[-4:]
        assert node["tier"]["code"] == "GOLD"
        assert sorted(card["pan"] for card in node["cards"]) == sorted(
            "*" * 12 + pan[-4:] for pan in person.pans
        )

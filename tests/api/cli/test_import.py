"""``cardcrm generate transactions`` and ``cardcrm import transactions`` as subprocesses, on a
database of the test's own: the generated file imports whole, a re-run imports nothing, bad
rows are listed by line without failing the command, a stray quote costs only its own line,
and only an unreadable file fails it, with a message and never a traceback."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.models.conftest import FreshDatabase

# The demo's year of card use (transactions, statements) is not what these tests are about.
NO_CARD_USE = ("--purchases-per-customer", "0")

pytestmark = pytest.mark.slow

ROWS = 400
END = "2026-06-01"
# "wrote N transactions to FILE (up to DAY): P purchases, R repayments"
WROTE = re.compile(r"wrote ([\d,]+) transactions .*: ([\d,]+) purchases, ([\d,]+) repayments")


def written(stdout: str) -> tuple[int, int, int]:
    found = WROTE.search(stdout.replace("\n", " "))
    assert found, stdout
    total, purchases, repayments = (int(part.replace(",", "")) for part in found.groups())
    return total, purchases, repayments


async def generate(fresh: FreshDatabase, out: Path, *options: str) -> str:
    done = await fresh.run_cli(
        "generate", "transactions", "--out", str(out), "--rows", str(ROWS), "--end", END, *options
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


async def test_a_generated_file_imports_whole_with_progress_and_a_rerun_imports_nothing(
    fresh_database: FreshDatabase, tmp_path: Path
) -> None:
    seeded = await fresh_database.run_cli("seed", "--demo", "--customers", "25", "--seed", "4")
    assert seeded.returncode == 0, seeded.stderr
    feed, same, other = tmp_path / "feed.csv", tmp_path / "same.csv", tmp_path / "other.csv"
    lines = tmp_path / "feed.jsonl"
    # ROWS purchases, the fraud patterns' few more, and the cards' repayments.
    total, purchases, repayments = written(await generate(fresh_database, feed, "--seed", "9"))
    assert ROWS < purchases < ROWS + 20
    assert repayments > 0
    assert total == purchases + repayments
    await generate(fresh_database, same, "--seed", "9")
    await generate(fresh_database, other, "--seed", "10")
    await generate(fresh_database, lines, "--seed", "9")

    first = await fresh_database.run_cli("import", "transactions", str(feed))
    again = await fresh_database.run_cli("import", "transactions", str(feed), "--batch-size", "64")
    as_jsonl = await fresh_database.run_cli("import", "transactions", str(lines))

    assert feed.read_bytes() == same.read_bytes() != other.read_bytes()
    assert first.returncode == again.returncode == as_jsonl.returncode == 0, first.stderr
    assert "importing" in first.stdout
    assert "100%" in first.stdout
    assert (
        f"read {total} rows from {total + 1} lines: {total} imported, 0 already present, "
        "0 rejected" in first.stdout
    )
    assert (
        f"read {total} rows from {total + 1} lines: 0 imported, {total} already present, "
        "0 rejected" in again.stdout
    )
    # The same seed writes the same transactions in either format.
    assert (
        f"read {total} rows from {total} lines: 0 imported, {total} already present"
        in as_jsonl.stdout
    )


async def test_bad_rows_are_listed_by_line_and_do_not_fail_the_command(
    fresh_database: FreshDatabase, tmp_path: Path
) -> None:
    feed = tmp_path / "feed.csv"
    feed.write_text(
        "card_id,amount,merchant,merchant_category,channel,time\n"
        "00000000-0000-4000-8000-000000000001,10.00,m,dining,pos,2026-01-01T00:00:00Z\n"
        "00000000-0000-4000-8000-000000000001,-3,m,dining,pos,2026-01-01T00:00:00Z\n"
        "00000000-0000-4000-8000-000000000001,1.00,m,dining,pos,2026-01-01T00:00:00\n"
    )
    done = await fresh_database.run_cli("import", "transactions", str(feed), "--max-errors", "2")
    assert done.returncode == 0, done.stderr
    assert "read 3 rows from 4 lines: 0 imported, 0 already present, 3 rejected" in done.stdout
    assert "line 2: card_id 00000000-0000-4000-8000-000000000001 names no card" in done.stdout
    assert "line 3: amount must be positive" in done.stdout
    assert "line 4" not in done.stdout
    assert "… and 1 more" in done.stdout


async def test_a_stray_quote_rejects_its_own_line_and_every_line_after_it_is_still_read(
    fresh_database: FreshDatabase, tmp_path: Path
) -> None:
    seeded = await fresh_database.run_cli(
        "seed", "--demo", "--customers", "5", "--seed", "4", *NO_CARD_USE
    )
    assert seeded.returncode == 0, seeded.stderr
    feed = tmp_path / "feed.csv"
    await generate(fresh_database, feed, "--seed", "9")
    header, *rows = feed.read_text().splitlines(keepends=True)
    stray = tmp_path / "stray.csv"
    stray.write_text(header + '"oops\n' + "".join(rows[:40]))

    done = await fresh_database.run_cli("import", "transactions", str(stray))

    assert done.returncode == 0, done.stderr
    assert "read 41 rows from 42 lines: 40 imported, 0 already present, 1 rejected" in done.stdout
    assert "line 2: has a quoted field that is still open at the end of the line" in done.stdout
    assert "line 3" not in done.stdout


async def test_a_broken_header_line_fails_the_command_with_a_message_not_a_traceback(
    fresh_database: FreshDatabase, tmp_path: Path
) -> None:
    carriage_return = tmp_path / "cr.csv"
    carriage_return.write_bytes(b"card_id,amount\rmerchant,merchant_category,channel,time\n")
    huge = tmp_path / "huge.csv"
    with huge.open("wb") as out:
        out.write(b"card_id,")
        out.write(b"x" * 50_000_000)
        out.write(b"\n")
    bare = await fresh_database.run_cli("import", "transactions", str(carriage_return))
    long = await fresh_database.run_cli("import", "transactions", str(huge))
    for done in (bare, long):
        assert done.returncode == 1
        assert "Traceback" not in done.stdout + done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "the header (line 1) has a carriage return inside the line" in bare.stderr
    assert "the header (line 1) is longer than 65,536 bytes" in long.stderr


async def test_only_a_file_that_cannot_be_imported_at_all_fails_the_command(
    fresh_database: FreshDatabase, tmp_path: Path
) -> None:
    headless = tmp_path / "headless.csv"
    headless.write_text("amount,merchant\n1,m\n")
    unknown = tmp_path / "feed.txt"
    unknown.write_text("{}\n")
    missing = await fresh_database.run_cli("import", "transactions", str(tmp_path / "none.csv"))
    header = await fresh_database.run_cli("import", "transactions", str(headless))
    format_ = await fresh_database.run_cli("import", "transactions", str(unknown))
    assert (missing.returncode, header.returncode, format_.returncode) == (1, 1, 1)
    assert "cannot import" in missing.stderr
    assert "No such file" in missing.stderr
    assert "missing: card_id or pan" in header.stderr
    assert "pass --format" in format_.stderr


async def test_the_generator_needs_activated_cards(
    fresh_database: FreshDatabase, tmp_path: Path
) -> None:
    done = await fresh_database.run_cli(
        "generate", "transactions", "--out", str(tmp_path / "x.csv"), "--rows", "5"
    )
    assert done.returncode == 1
    assert "no activated card" in done.stderr

"""Times ``cardcrm import customers`` on a throwaway database, and shows its memory is flat.

    python -m bench customers_import                  # PostgreSQL: 10,000 then 100,000 customers
    python -m bench.customers_import --backend sqlite --customers 2000

Writes a CSV of ``--customers`` customers, half of them with two cards (100,000 customers,
150,000 cards by default), with the same generators the demo uses (valid national IDs,
Luhn-valid card numbers), into a temporary directory; migrates a throwaway database and adds
the two branches and the tiers; then runs the real command as a subprocess and reads its
peak RSS from the kernel (``wait4``). The same is done first for a tenth of the customers,
so the two peaks show whether memory grows with the file. ``--again`` also times a re-run of
the big file (it must import nothing: every line already present). Target (issue 16): the
100,000 under 5 minutes on PostgreSQL, memory flat.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import csv
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import migrations
from bench.evaluation import DEFAULT_POSTGRES, throwaway_url
from core.database import Database
from models.customers.identifiers import (
    generate_mobile,
    generate_national_id,
    generate_unionpay_pan,
)
from models.growth.tier import Tier
from models.organisation.organisation import Branch

CUSTOMERS = 100_000
SAMPLE_SECONDS = 0.5
BRANCHES = ("BJ-CY", "SH-PD")
TIERS = ("standard", "silver", "gold")
COLUMNS = [
    *("customer_number", "name", "birth_date", "id_number", "phone", "branch_code"),
    *("tier_code", "email", "consent_sms", "card1_pan", "card1_credit_limit", "card1_product"),
    *("card2_pan", "card2_credit_limit"),
]
CARDCRM = Path(sys.executable).with_name("cardcrm")


def write_file(path: Path, customers: int, seed: int = 16) -> int:
    """The CSV; every second customer has a second card. Returns the number of cards."""
    rng = random.Random(seed)
    cards = 0
    used: set[str] = set()

    def fresh(make: Callable[[], str]) -> str:
        """A generated value not used before in the file (the generators may repeat one:
        a birth date has only 500 sequence codes)."""
        while (value := make()) in used:
            pass
        used.add(value)
        return value

    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        for index in range(customers):
            born = date(1960, 1, 1) + timedelta(days=rng.randrange(16000))
            pans = [fresh(lambda: generate_unionpay_pan(rng)) for _ in range(1 + index % 2)]
            cards += len(pans)
            second = [pans[1], "20000.00"] if len(pans) > 1 else ["", ""]
            writer.writerow(
                [
                    f"CIF{index:010d}",
                    f"客户{index}",
                    born.isoformat(),
                    fresh(lambda: generate_national_id(rng, born)),  # noqa: B023 (called here)
                    generate_mobile(rng),
                    BRANCHES[index % 2],
                    TIERS[index % 3],
                    f"c{index}@example.com",
                    "yes" if index % 4 else "no",
                    pans[0],
                    "50000.00",
                    "UnionPay Gold",
                    *second,
                ]
            )
    return cards


async def prepare(url: str) -> None:
    """Migrated, with the branches and tiers a line names."""
    await asyncio.to_thread(migrations.upgrade, url)
    database = Database(url)
    try:
        async with database.session() as session:
            session.add_all(Branch(code=code, name=code) for code in BRANCHES)
            session.add_all(
                Tier(code=code, name=code.title(), rank=rank) for rank, code in enumerate(TIERS)
            )
            await session.commit()
    finally:
        await database.dispose()


@dataclass(frozen=True)
class Run:
    customers: int
    cards: int
    seconds: float
    cpu_seconds: float
    peak_rss_mb: float
    rss_by_quarter: list[float]
    summary: str

    def line(self) -> str:
        rate = self.customers / self.seconds if self.seconds else 0.0
        return (
            f"{self.customers:,} customers, {self.cards:,} cards: {self.seconds:.1f} s "
            f"({rate:,.0f} customers/s), CPU {self.cpu_seconds:.1f} s, "
            f"peak RSS {self.peak_rss_mb:.0f} MB, RSS by quarter of the run "
            f"{' / '.join(f'{mb:.0f}' for mb in self.rss_by_quarter)} MB\n    {self.summary}"
        )


def _environment(url: str, var_dir: Path, master_key: str) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("CARDCRM_")},
        "DATABASE_URL": url,
        "CARDCRM_MASTER_KEY": master_key,
        "CARDCRM_VAR_DIR": str(var_dir),
        "CARDCRM_ENVIRONMENT": "test",
        "NO_COLOR": "1",
        "TERM": "dumb",
        "COLUMNS": "200",
    }


def import_file(
    url: str, var_dir: Path, master_key: str, path: Path
) -> tuple[float, float, float, list[float], str]:
    """Runs the command: its wall time, its CPU time (user + system: what a shared machine's
    load does not inflate), its peak RSS in MB (the kernel's ``ru_maxrss`` of this child
    alone, from ``wait4``) and its summary line."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        began = time.perf_counter()
        process = subprocess.Popen(
            [str(CARDCRM), "import", "customers", str(path)],
            env=_environment(url, var_dir, master_key),
            stdout=out,
            stderr=err,
        )
        status, usage, samples = _waited(process.pid)
        seconds = time.perf_counter() - began
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if process.returncode != 0:
            raise SystemExit(f"import failed ({process.returncode}): {err.read().strip()}")
        text = out.read()
    summary = " ".join(text[text.index("read ") :].split("rejected", 1)[0].split()) + " rejected"
    cpu = usage.ru_utime + usage.ru_stime
    return seconds, cpu, usage.ru_maxrss / 1024, _quarters(samples), summary


def _waited(pid: int) -> tuple[int, Any, list[float]]:
    """Waits for the child, sampling its resident set (MB) every ``SAMPLE_SECONDS``: the
    kernel's peak alone is the start-up's (importing the app's modules peaks at ~160 MB,
    as ``cardcrm --help`` does), so the samples show what the import itself holds."""
    samples: list[float] = []
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            return status, usage, samples
        try:
            with open(f"/proc/{pid}/status") as proc:
                found = next(line for line in proc if line.startswith("VmRSS:"))
            samples.append(int(found.split()[1]) / 1024)
        except (OSError, StopIteration):
            pass
        time.sleep(SAMPLE_SECONDS)


def _quarters(samples: list[float]) -> list[float]:
    """The largest sampled RSS in each quarter of the run, in time order; a run too short
    for four samples has one value per sample."""
    size = max(1, len(samples) // 4)
    starts = range(0, min(size * 4, len(samples)), size)
    return [max(samples[start : start + size]) for start in starts]


async def runs(
    backend: str, postgres: str, customers: int, directory: Path, *, again: bool
) -> list[Run]:
    """The file for ``customers``, imported into a throwaway database (twice with ``again``)."""
    path = directory / f"customers-{customers}.csv"
    cards = write_file(path, customers)
    master_key = base64.b64encode(os.urandom(32)).decode()
    done = []
    async with throwaway_url(backend, postgres) as url:
        await prepare(url)
        for _ in range(2 if again else 1):
            seconds, cpu, peak, quarters, summary = await asyncio.to_thread(
                import_file, url, directory, master_key, path
            )
            done.append(Run(customers, cards, seconds, cpu, peak, quarters, summary))
    path.unlink()
    return done


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--backend", choices=["sqlite", "postgresql"], default="postgresql")
    add("--customers", type=int, default=CUSTOMERS, help="the big file (a tenth runs first)")
    add("--again", action="store_true", help="also time a re-run of the big file")
    add("--postgres", default=DEFAULT_POSTGRES, help="maintenance database URL")


def run(args: argparse.Namespace) -> None:
    print(f"load average before: {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory(prefix="cardcrm-import-bench-") as directory:
        for customers, again in ((args.customers // 10, False), (args.customers, args.again)):
            for result in asyncio.run(
                runs(args.backend, args.postgres, customers, Path(directory), again=again)
            ):
                print(f"{args.backend}: {result.line()}", flush=True)
    print(f"load average after: {os.getloadavg()[0]:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    run(parser.parse_args())


if __name__ == "__main__":
    main()

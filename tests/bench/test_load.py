"""Reading wrk's results (bench/load.py): the RESULT line bench/wrk.lua prints, the median of
three runs, and where the next run starts in a file of one-time codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.load import CodeFeed, WrkResult, median_run, parse_wrk_output

# What wrk prints with bench/wrk.lua: its own summary is not printed (the script has done()).
OUTPUT = """Running 3s test @ http://127.0.0.1:8000/graphql
  1 threads and 16 connections
RESULT requests=1200 duration_us=3000000 p50_us=12500 p95_us=30100 p99_us=48250 \
socket_errors=2 failed=5 taken=1216
"""


def _run(requests: int, seconds: float = 1.0, taken: int = 0) -> WrkResult:
    return WrkResult(requests, seconds, 1.0, 2.0, 3.0, 0, 0, taken)


def test_the_result_line_gives_rate_latency_in_ms_and_every_kind_of_error() -> None:
    result = parse_wrk_output(OUTPUT)
    assert result.rps == 400.0
    assert (result.p50_ms, result.p95_ms, result.p99_ms) == (12.5, 30.1, 48.25)
    assert (result.socket_errors, result.failed, result.errors) == (2, 5, 7)
    assert result.codes_taken == 1216


def test_output_without_a_result_line_is_an_error_that_quotes_it() -> None:
    with pytest.raises(ValueError, match="unable to connect"):
        parse_wrk_output("unable to connect to 127.0.0.1:1 Connection refused\n")


def test_the_median_run_is_the_middle_one_by_requests_per_second() -> None:
    slow, middle, fast = _run(100), _run(200), _run(300)
    assert median_run([fast, slow, middle]) is middle
    assert median_run([_run(100, seconds=0.5), _run(150)]).requests == 150  # 150 < 200 req/s
    with pytest.raises(ValueError):
        median_run([])


def test_a_code_feed_moves_past_every_code_a_run_took_answered_or_not(tmp_path: Path) -> None:
    feed = CodeFeed(tmp_path / "codes.txt", size=100)
    feed.advance(_run(40, taken=56))
    assert (feed.used, feed.exhausted) == (56, False)
    feed.advance(_run(40, taken=45))
    assert (feed.used, feed.exhausted) == (101, True)

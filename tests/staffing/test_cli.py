"""`hotline staffing`: the issue's JSON contract for one load, the refusals, the history plan."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HOTLINE = str(Path(sys.executable).with_name("hotline"))


def staffing(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [HOTLINE, "staffing", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def test_one_load_prints_the_contract_json() -> None:
    done = staffing(
        "--rate", "100", "--aht", "180", "--patience", "90", "--target", "96",
        "--threshold", "40", "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert list(answer) == [
        "agents",
        "expected_sl",
        "expected_asa_s",
        "expected_abandon_rate",
        "model",
    ]
    assert answer["model"] == "erlang_a"
    assert answer["agents"] == 9 and answer["expected_sl"] >= 96


def test_erlang_c_the_classic_example_and_the_inverse() -> None:
    done = staffing(
        "--rate", "100", "--aht", "180", "--target", "80", "--threshold", "20", "--json"
    )
    assert json.loads(done.stdout) == {
        "agents": 8,
        "expected_sl": 88.01,
        "expected_asa_s": 10.04,
        "expected_abandon_rate": 0.0,
        "model": "erlang_c",
    }
    done = staffing("--rate", "100", "--aht", "180", "--agents", "7", "--threshold", "20", "--json")
    assert json.loads(done.stdout)["expected_sl"] == 74.04
    done = staffing(
        "--rate", "100", "--aht", "180", "--target", "80", "--threshold", "20",
        "--shrinkage", "0.3", "--json",
    )  # fmt: skip
    assert json.loads(done.stdout)["scheduled"] == 12  # 8 / 0.7


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--target", "100"), "below 100 %"),
        (("--rate", "1e9", "--target", "80"), "needs more than"),
    ],
)
def test_no_answer_is_a_clear_error(args: tuple[str, ...], says: str) -> None:
    base = {"--rate": "100", "--aht": "180", "--threshold": "20"}
    for flag in args[::2]:
        base.pop(flag, None)
    flat = [x for pair in base.items() for x in pair]
    done = staffing(*flat, *args, "--json")
    assert done.returncode == 2
    assert says in done.stderr and done.stdout == ""


def test_the_plan_from_an_empty_history_says_what_is_missing(tmp_path: Path) -> None:
    from crm.migrate import upgrade

    url = f"sqlite+aiosqlite:///{tmp_path / 'h.db'}"
    upgrade(url)
    done = staffing("--day", "2026-03-16", env={"HOTLINE_DATABASE_URL": url})
    assert done.returncode == 2 and "give the handle time" in done.stderr
    done = staffing(
        "--day", "2026-03-16", "--aht", "180", "--csv", env={"HOTLINE_DATABASE_URL": url}
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("date,start,end,queue,calls") and len(lines) == 49

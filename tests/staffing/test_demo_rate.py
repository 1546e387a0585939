"""`hotline demo --rate --aht --patience --hours`: steady Poisson traffic through all of Hotline,
staffed by the planner, with the demo's JSON contract unchanged."""

from __future__ import annotations

import itertools
import json
import random

import pytest
from typer.testing import CliRunner

from asterisksim.traffic import poisson_arrivals
from hotline.cli import app
from hotline.demo.run import DemoOptions
from tests.deploy.test_demo import KEYS


def test_poisson_arrivals_have_the_rate_and_exponential_gaps() -> None:
    arrivals = poisson_arrivals(random.Random(3), 360, 0.0, 1000 * 3600)
    assert len(arrivals) == pytest.approx(360_000, rel=0.01)
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    mean_s = sum(gaps) / len(gaps)
    assert mean_s == pytest.approx(10.0, rel=0.01)
    # exponential: P(gap > mean) = e^-1, where a uniform spacing would give 0
    assert sum(g > mean_s for g in gaps) / len(gaps) == pytest.approx(0.3679, abs=0.01)
    assert poisson_arrivals(random.Random(3), 0, 0.0, 3600) == []


def test_steady_traffic_through_the_whole_demo() -> None:
    args = ["demo", "--rate", "120", "--aht", "150", "--patience", "60", "--hours", "1.5"]
    result = CliRunner().invoke(app, [*args, "--speed", "max", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert set(summary) == KEYS
    assert 140 <= summary["calls"] <= 220  # Poisson(180)
    assert summary["tickets"] == summary["calls"]
    assert summary["answered"] + summary["abandoned"] == summary["calls"]
    assert summary["transfers"] == 0  # steady traffic: nobody transfers
    level = summary["service_level"]
    assert {k: level[k] for k in ("sl", "perf", "perf2")} == summary["truth"]
    # the planner's agents for 96 % within 40 s: a short run lands near it, not far below
    assert level["sl"] >= 90


def test_the_steady_flags_go_with_rate() -> None:
    with pytest.raises(ValueError, match="go with --rate"):
        DemoOptions(aht_s=180)
    with pytest.raises(ValueError, match="--rate"):
        DemoOptions(rate=0)
    with pytest.raises(ValueError, match="--hours"):
        DemoOptions(rate=10, hours=0)
    result = CliRunner().invoke(app, ["demo", "--patience", "60", "--json"])
    assert result.exit_code == 2

"""Benchmark `hotline demo`: the issue's figure, `hotline demo --calls 2000 --speed max
--json` in under 60 s on this machine; prints one JSON object.

Runs the command as a user would (a fresh process, through the `hotline` entry point)
`--runs` times and reports each wall time beside the target, with the process's CPU time
(user + system: a loaded machine stretches the wall time far more than the CPU time) and
the checks the demo must pass: tickets == calls and the service level equal to the
simulator's truth.

`--baseline DIR` runs the same command on another tree of the project (e.g. `git archive
REF | tar -x -C DIR`) in the same run, alternating with this one, and prints its runs
beside these.

Usage: `python bench/demo.py [--calls 2000] [--runs 1] [--seed 1] [--baseline DIR]`.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

TARGET_S = 60.0


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def one_run(calls: int, seed: int, tree: Path | None = None) -> dict[str, object]:
    command = [sys.executable, "-m", "hotline.cli", "demo", "--calls", str(calls)]
    command += ["--seed", str(seed), "--speed", "max", "--json"]
    env = None
    if tree is not None:
        # The other tree's packages first (the installed project is this one).
        env = {**os.environ, "PYTHONPATH": f"{tree}{os.pathsep}{tree / 'queue'}"}
    cpu_before = _children_cpu_s()
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=True, cwd=tree, env=env)
    wall_s = time.perf_counter() - started
    summary = json.loads(done.stdout)
    level = summary["service_level"]
    return {
        "wall_s": round(wall_s, 1),
        "cpu_s": round(_children_cpu_s() - cpu_before, 1),
        "load_1m": round(os.getloadavg()[0], 1),
        "tickets_equal_calls": summary["tickets"] == summary["calls"],
        "sl_equal_truth": {k: level[k] for k in ("sl", "perf", "perf2")} == summary["truth"],
        "transfers_refused": summary["transfers_refused"],
        "max_transfers_per_call": summary["max_transfers_per_call"],
    }


def figures(runs: list[dict[str, object]]) -> dict[str, object]:
    walls = [float(r["wall_s"]) for r in runs]  # type: ignore[arg-type]
    cpus = [float(r["cpu_s"]) for r in runs]  # type: ignore[arg-type]
    return {
        "wall_s": walls,
        "best_s": min(walls),
        "cpu_s": cpus,
        "under_target": max(walls) < TARGET_S,
        "runs": runs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--baseline", type=Path, default=None, help="another tree of the project to compare"
    )
    args = parser.parse_args()
    if args.baseline is not None and not (args.baseline / "hotline" / "cli.py").is_file():
        parser.error(f"--baseline {args.baseline}: no hotline/cli.py there")
    runs, baseline = [], []
    for _ in range(args.runs):
        if args.baseline is not None:
            baseline.append(one_run(args.calls, args.seed, args.baseline.resolve()))
        runs.append(one_run(args.calls, args.seed))
    result: dict[str, object] = {"calls": args.calls, "target_s": TARGET_S, **figures(runs)}
    if baseline:
        result["baseline"] = {"tree": str(args.baseline), **figures(baseline)}
    print(json.dumps(result))


if __name__ == "__main__":
    main()

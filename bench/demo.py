"""Benchmark `hotline demo`: the issue's figure, `hotline demo --calls 2000 --speed max
--json` in under 60 s on this machine; prints one JSON object.

Runs the command as a user would (a fresh process, through the `hotline` entry point)
`--runs` times and reports each wall time beside the target, with the checks the demo
must pass: tickets == calls and the service level equal to the simulator's truth.

Usage: `python bench/demo.py [--calls 2000] [--runs 1] [--seed 1]`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

TARGET_S = 60.0


def one_run(calls: int, seed: int) -> dict[str, object]:
    command = [sys.executable, "-m", "hotline.cli", "demo", "--calls", str(calls)]
    command += ["--seed", str(seed), "--speed", "max", "--json"]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    wall_s = time.perf_counter() - started
    summary = json.loads(done.stdout)
    level = summary["service_level"]
    return {
        "wall_s": round(wall_s, 1),
        "tickets_equal_calls": summary["tickets"] == summary["calls"],
        "sl_equal_truth": {k: level[k] for k in ("sl", "perf", "perf2")} == summary["truth"],
        "transfers_refused": summary["transfers_refused"],
        "max_transfers_per_call": summary["max_transfers_per_call"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    runs = [one_run(args.calls, args.seed) for _ in range(args.runs)]
    walls = [float(r["wall_s"]) for r in runs]  # type: ignore[arg-type]
    print(
        json.dumps(
            {
                "calls": args.calls,
                "target_s": TARGET_S,
                "wall_s": walls,
                "best_s": min(walls),
                "under_target": max(walls) < TARGET_S,
                "runs": runs,
            }
        )
    )


if __name__ == "__main__":
    main()

"""`queue/` must not shadow the standard library's `queue`; the tracker is `callqueue`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_queue_is_the_standard_library_from_the_repo_root() -> None:
    assert not (ROOT / "queue" / "__init__.py").exists()
    code = (
        "import queue, callqueue, concurrent.futures, logging.handlers;"
        "print(hasattr(queue, 'SimpleQueue'), callqueue.__file__)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "queue")])},
    )
    assert result.returncode == 0, result.stderr
    has_simple_queue, callqueue_file = result.stdout.split()
    assert has_simple_queue == "True"
    assert callqueue_file.startswith(str(ROOT / "queue" / "callqueue"))

"""`queue/` must never shadow the standard library's `queue` module."""

from __future__ import annotations

import socket
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

from tests.conftest import ROOT

STDLIB = Path(sysconfig.get_paths()["stdlib"]).resolve()


def _is_stdlib(path: str) -> bool:
    return Path(path).resolve().is_relative_to(STDLIB)


def test_queue_dir_is_not_a_package() -> None:
    assert (ROOT / "queue").is_dir()
    assert not (ROOT / "queue" / "__init__.py").exists()
    assert (ROOT / "queue" / "callqueue" / "__init__.py").exists()


def test_import_queue_from_repo_root_is_stdlib() -> None:
    out = subprocess.run(
        [sys.executable, "-c", "import queue; print(queue.__file__)"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert _is_stdlib(out), out


def test_import_queue_under_python_m_pytest_is_stdlib(tmp_path: Path) -> None:
    probe = tmp_path / "test_probe.py"
    probe.write_text(
        "import concurrent.futures, logging.handlers, queue, sysconfig\n"
        "from pathlib import Path\n"
        "def test_stdlib():\n"
        "    stdlib = Path(sysconfig.get_paths()['stdlib']).resolve()\n"
        "    assert Path(queue.__file__).resolve().is_relative_to(stdlib), queue.__file__\n"
        "    assert hasattr(queue, 'SimpleQueue')\n"
    )
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(tmp_path),
            str(probe),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed" in run.stdout


def test_import_queue_under_python_m_uvicorn_is_stdlib(tmp_path: Path) -> None:
    marker = tmp_path / "queue_file.txt"
    (tmp_path / "probe_app.py").write_text(
        "import queue, pathlib\n"
        f"pathlib.Path({str(marker)!r}).write_text(queue.__file__)\n"
        "async def app(scope, receive, send):\n"
        "    pass\n"
    )
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "probe_app:app",
            "--app-dir",
            str(tmp_path),
            "--port",
            str(port),
            "--lifespan",
            "off",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while not marker.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert marker.exists(), proc.stdout.read().decode() if proc.stdout else ""
    assert _is_stdlib(marker.read_text()), marker.read_text()

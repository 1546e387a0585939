"""The project's own services as the real tier runs them: `hotline crm`, `agi`, `tracker`.

Each is the `hotline` command in a child process with its log in the instance's folder,
started from an environment of its own (nothing of the developer's HOTLINE_* leaks in),
and always stopped (SIGTERM, then SIGKILL).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.asterisk.instance import terminate


class Component:
    def __init__(self, name: str, args: list[str], env: dict[str, str], home: Path) -> None:
        self.name = name
        self.args, self.env, self.home = args, env, home
        self.log = home / f"{name}.log"
        base = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
        with self.log.open("ab") as out:
            # cwd: a folder without a .env, so the settings come from `env` alone.
            self.process = subprocess.Popen(
                [sys.executable, "-m", "hotline.cli", *args],
                env={**base, **env},
                cwd=home,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def wait_until(self, ready: Callable[[], bool], timeout_s: float, what: str) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self.process.returncode}):{self.tail()}")
            if ready():
                return
            time.sleep(0.2)
        raise TimeoutError(f"{self.name}: {what} not within {timeout_s:.0f} s:{self.tail()}")

    def tail(self, lines: int = 25) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n" + "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout_s: float = 15.0) -> None:
        terminate(self.process, timeout_s)

    def kill(self) -> None:
        """SIGKILL: the process goes at once, as in a crash (nothing flushed, no goodbye)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)

    def again(self) -> Component:
        """The same command started anew (same settings, same log, appended)."""
        return Component(self.name, self.args, self.env, self.home)


def answers_http(url: str) -> Callable[[], bool]:
    def ready() -> bool:
        try:
            return httpx.get(url, timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    return ready


def accepts_tcp(port: int) -> Callable[[], bool]:
    def ready() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            return False

    return ready

"""A real Asterisk test instance: its own etc, sounds, directories and loopback ports.

`AsteriskInstance(home).start()` renders the project's `asterisk-config/` (through the
`hotline asterisk-config render` command), applies the harness overlay (overlay.py), builds
a sounds folder (Debian's core sounds, ru and en, with the project's prompts beside them
and its rendered digits only where the core sounds have none, as docker-compose.yml does),
starts `asterisk -C home/etc/asterisk/asterisk.conf -f`
as a child process, and waits until AMI answers with `FullyBooted`. `stop()` ends it.

From the shell (scripts/asterisk-test-instance): `python -m tests.asterisk.instance start
DIR` leaves the instance running and writes DIR/instance.json (ports, AMI users); `stop DIR`.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from tests.asterisk import overlay

ROOT = Path(__file__).resolve().parents[2]
VERSION = "22.10.1"
CORE_SOUNDS = Path("/usr/share/asterisk/sounds")
# The project's prompts are these folders, as docker-compose.yml mounts them.
PROJECT_SOUNDS = ("ru/hotline", "en/hotline")
# The project's rendered digits are the fallback only: a digit the core sounds lack (in any
# format) is ours; Asterisk's own recordings are said wherever they are installed.
FALLBACK_SOUNDS = ("ru/digits", "en/digits")
HOTLINE_NUMBER = "100"
AMI_USER = "hotline"
START_TIMEOUT_S = 60.0


def cache_dir() -> Path:
    """Where scripts/asterisk-test-instance builds Asterisk (HOTLINE_ASTERISK_CACHE)."""
    if os.environ.get("HOTLINE_ASTERISK_CACHE"):
        return Path(os.environ["HOTLINE_ASTERISK_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "hotline" / f"asterisk-{VERSION}"


def source_dir() -> Path:
    """The Asterisk source and its build.sh (HOTLINE_ASTERISK_SOURCE)."""
    return Path(
        os.environ.get("HOTLINE_ASTERISK_SOURCE") or ROOT.parent / "shared" / "asterisk-src"
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Endpoints:
    """What a client of the instance needs; saved as home/instance.json."""

    ami_port: int
    agi_port: int
    ami_user: str
    ami_secret: str
    harness_secret: str
    hotline_number: str
    pid: int = 0


class AsteriskInstance:
    def __init__(self, home: Path, prefix: Path | None = None, *, whisper: str = "off") -> None:
        self.home = home.resolve()
        self.whisper = whisper  # HOTLINE_WHISPER of the render
        self.prefix = prefix or cache_dir()
        self.process: subprocess.Popen[bytes] | None = None
        self.applied: list[str] = []
        self.endpoints = Endpoints(
            ami_port=free_port(),
            agi_port=free_port(),
            ami_user=AMI_USER,
            ami_secret=os.urandom(12).hex(),
            harness_secret=os.urandom(12).hex(),
            hotline_number=HOTLINE_NUMBER,
        )

    @property
    def binary(self) -> Path:
        return self.prefix / "sbin" / "asterisk"

    @property
    def etc(self) -> Path:
        return self.home / "etc" / "asterisk"

    def render_env(self) -> dict[str, str]:
        """The environment `hotline asterisk-config render` fills the templates from."""
        return {
            "HOTLINE_NUMBER": HOTLINE_NUMBER,
            "HOTLINE_AMI_USER": AMI_USER,
            "HOTLINE_AMI_SECRET": self.endpoints.ami_secret,
            # Loopback only, on free ports: several runs share one machine.
            "HOTLINE_AMI_BIND": "127.0.0.1",
            "HOTLINE_AMI_PERMIT": "127.0.0.1/32",
            "HOTLINE_AMI_PORT": str(self.endpoints.ami_port),
            "HOTLINE_AGI_HOST": "127.0.0.1",
            "HOTLINE_AGI_PORT": str(self.endpoints.agi_port),
            # agents are Local channels (no SIP in the test build): harness/extensions.conf
            "HOTLINE_AGENT_CHANNEL": "Local/{agent}@harness-agents/n",
            "HOTLINE_WHISPER": self.whisper,
            "HOTLINE_EXTERNAL_ADDRESS": "127.0.0.1",
            "HOTLINE_AGENTS": "3",
            # pjsip.conf needs them; the test build has no SIP, so they are never used.
            "HOTLINE_TRUNK_HOST": "trunk.invalid",
            "HOTLINE_TRUNK_USER": "hotline-test",
            "HOTLINE_TRUNK_SECRET": os.urandom(12).hex(),
            "HOTLINE_SIP_SECRET": os.urandom(12).hex(),
        }

    def write_config(self) -> None:
        for sub in ("etc/asterisk/harness", "lib", "data", "agi-bin", "spool", "run", "log"):
            (self.home / sub).mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
        env.update(self.render_env())
        hotline = Path(sys.executable).with_name("hotline")
        subprocess.run(
            [str(hotline), "asterisk-config", "render", "--out", str(self.etc)],
            env=env,
            cwd=self.home,
            check=True,
            capture_output=True,
        )
        ports = overlay.Ports(ami=self.endpoints.ami_port, agi=self.endpoints.agi_port)
        self.applied = overlay.apply(self.etc, ports)
        files = {
            "asterisk.conf": overlay.asterisk_conf(self.home, self.prefix),
            "logger.conf": overlay.LOGGER_CONF,
            "modules.conf": overlay.MODULES_CONF,
            "musiconhold.conf": overlay.MUSICONHOLD_CONF,
            "harness/extensions.conf": overlay.HARNESS_EXTENSIONS,
            "harness/manager.conf": overlay.harness_manager(self.endpoints.harness_secret),
        }
        for name, text in files.items():
            (self.etc / name).write_text(text)
        (self.home / "overlay.txt").write_text("\n".join(self.applied) + "\n")
        self._write_sounds()

    def _write_sounds(self) -> None:
        """data/sounds: the core sounds linked file by file, the project's folders over them."""
        sounds = self.home / "data" / "sounds"
        shutil.rmtree(sounds, ignore_errors=True)
        for language in ("en", "ru"):
            core = CORE_SOUNDS / language
            if not core.is_dir():
                raise RuntimeError(
                    f"{core} is missing: install asterisk-core-sounds-{language}-wav "
                    "(scripts/ensure-services does)"
                )
            for path in core.resolve().rglob("*"):
                if path.is_file():
                    link = sounds / language / path.relative_to(core.resolve())
                    link.parent.mkdir(parents=True, exist_ok=True)
                    link.symlink_to(path)
        for folder in PROJECT_SOUNDS:
            target = sounds / folder
            shutil.rmtree(target, ignore_errors=True)
            target.symlink_to(
                ROOT / "asterisk-config" / "sounds" / folder, target_is_directory=True
            )
        for folder in FALLBACK_SOUNDS:
            target = sounds / folder
            target.mkdir(parents=True, exist_ok=True)
            for ours in sorted((ROOT / "asterisk-config" / "sounds" / folder).glob("*.wav")):
                if not any(target.glob(f"{ours.stem}.*")):
                    (target / ours.name).symlink_to(ours)
        # Stasis refuses to start without the XML documentation of the build.
        docs = self.home / "data" / "documentation"
        if not docs.exists():
            docs.symlink_to(self.prefix / "var" / "lib" / "asterisk" / "documentation")
        moh = self.home / "data" / "moh"
        moh.mkdir(exist_ok=True)
        if not (moh / "silence.wav").exists():
            (moh / "silence.wav").symlink_to((CORE_SOUNDS / "en" / "silence" / "1.wav").resolve())

    def start(self, *, detach: bool = False) -> None:
        """Write the config, start Asterisk, wait for `FullyBooted` on AMI."""
        if not self.binary.exists():
            raise RuntimeError(
                f"no Asterisk in {self.prefix}: run scripts/asterisk-test-instance build"
            )
        self.write_config()
        env = {k: v for k, v in os.environ.items() if not k.startswith("HOTLINE_")}
        console = (self.home / "log" / "console.log").open("ab")
        self.process = subprocess.Popen(
            [str(self.binary), "-C", str(self.etc / "asterisk.conf"), "-f", "-n"],
            env=env,
            cwd=self.home,
            stdin=subprocess.DEVNULL,
            stdout=console,
            stderr=subprocess.STDOUT,
            start_new_session=detach,
        )
        console.close()
        self.endpoints.pid = self.process.pid
        (self.home / "instance.json").write_text(json.dumps(asdict(self.endpoints), indent=2))
        try:
            self.wait_booted()
        except Exception:
            self.stop()
            raise

    def wait_booted(self, timeout_s: float = START_TIMEOUT_S) -> None:
        """Block until the harness's AMI login is greeted with `FullyBooted`."""
        deadline = time.monotonic() + timeout_s
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(
                    f"Asterisk exited with {self.process.returncode}: {self.log_tail()}"
                )
            try:
                if _fully_booted(self.endpoints, deadline):
                    return
            except OSError as exc:
                last_error = exc
            time.sleep(0.2)
        raise TimeoutError(
            f"Asterisk not booted in {timeout_s:.0f} s ({last_error}): {self.log_tail()}"
        )

    def point_agi_at(self, port: int, timeout_s: float = 15.0) -> None:
        """Move the dialplan's FastAGI address to 127.0.0.1:`port` (extensions.conf
        rewritten, the dialplan reloaded): one instance serves one set of Hotline's services
        after another, each with an AGI server of its own. Call it with no call up."""
        path = self.etc / "extensions.conf"
        old, new = f"127.0.0.1:{self.endpoints.agi_port}/", f"127.0.0.1:{port}/"
        text = path.read_text()
        if old not in text:
            raise RuntimeError(f"{path} has no FastAGI address {old}")
        path.write_text(text.replace(old, new))
        self.endpoints.agi_port = port
        (self.home / "instance.json").write_text(json.dumps(asdict(self.endpoints), indent=2))
        deadline = time.monotonic() + timeout_s
        command(self.endpoints, "dialplan reload", deadline)
        shown = f"dialplan show {self.endpoints.hotline_number}@hotline-in"
        while new not in command(self.endpoints, shown, deadline):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the dialplan still has no {new} after its reload")
            time.sleep(0.1)

    def log_tail(self, lines: int = 30) -> str:
        text = ""
        for name in ("console.log", "messages.log"):
            path = self.home / "log" / name
            if path.exists():
                text += f"\n--- {name}\n" + "\n".join(
                    path.read_text(errors="replace").splitlines()[-lines:]
                )
        return text

    def stop(self, timeout_s: float = 15.0) -> None:
        """SIGTERM (Asterisk's fast shutdown), SIGKILL if it does not go in time."""
        if self.process is None:
            return
        terminate(self.process, timeout_s)
        self.process = None


def terminate(process: subprocess.Popen[bytes], timeout_s: float = 15.0) -> None:
    """SIGTERM, then SIGKILL if the process has not gone within `timeout_s`."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def _fully_booted(endpoints: Endpoints, deadline: float) -> bool:
    with socket.create_connection(("127.0.0.1", endpoints.ami_port), timeout=2) as conn:
        conn.settimeout(max(0.5, min(5.0, deadline - time.monotonic())))
        login = (
            "Action: Login\r\nUsername: harness\r\n"
            f"Secret: {endpoints.harness_secret}\r\nActionID: boot\r\n\r\n"
        )
        conn.sendall(login.encode())
        received = b""
        while b"Event: FullyBooted" not in received:
            try:
                chunk = conn.recv(4096)
            except TimeoutError:
                return False
            if not chunk:
                return False
            received += chunk
            if b"Response: Error" in received:
                raise RuntimeError(f"AMI refused the harness login: {received!r}")
        conn.sendall(b"Action: Logoff\r\n\r\n")
        return True


def command(endpoints: Endpoints, line: str, deadline: float) -> str:
    """A CLI command through the harness's AMI user (`Action: Command`); its output."""
    with socket.create_connection(("127.0.0.1", endpoints.ami_port), timeout=2) as conn:
        conn.settimeout(max(0.5, deadline - time.monotonic()))
        conn.sendall(
            (
                "Action: Login\r\nUsername: harness\r\n"
                f"Secret: {endpoints.harness_secret}\r\nEvents: off\r\n\r\n"
                f"Action: Command\r\nCommand: {line}\r\nActionID: cli\r\n\r\n"
            ).encode()
        )
        received = b""
        while True:
            start = received.find(b"ActionID: cli\r\n")
            if start >= 0 and b"\r\n\r\n" in received[start:]:
                break
            chunk = conn.recv(65536)
            if not chunk:
                raise ConnectionError(f"AMI closed before the output of {line!r}")
            received += chunk
        if b"Response: Error" in received:
            raise RuntimeError(f"AMI refused {line!r}: {received!r}")
        conn.sendall(b"Action: Logoff\r\n\r\n")
        return received.decode(errors="replace")


def stop_detached(home: Path, timeout_s: float = 15.0) -> bool:
    """Stop the instance `main start` left running in `home`; False if none was running."""
    info = home / "instance.json"
    if not info.exists():
        return False
    pid = json.loads(info.read_text())["pid"]
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
    return True


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("start", "stop"):
        print("usage: python -m tests.asterisk.instance start|stop DIR", file=sys.stderr)
        return 2
    home = Path(argv[1])
    if argv[0] == "stop":
        print("stopped" if stop_detached(home) else f"no instance running in {home}")
        return 0
    home.mkdir(parents=True, exist_ok=True)
    instance = AsteriskInstance(home)
    instance.start(detach=True)
    print(json.dumps(asdict(instance.endpoints)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

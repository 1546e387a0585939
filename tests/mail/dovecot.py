"""A real IMAP server for the tests and the benchmark: Debian's Dovecot on a loopback port.

Its configuration, its one user (passwd-file) and its maildir live in a temporary folder;
no system service is touched and nothing is left behind. `scripts/ensure-services`
installs the package (`dovecot-imapd`). Run as root, the mail files belong to the `mail`
user (Dovecot refuses mail access as root); run as anyone else, to that user.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import aioimaplib

USER = "hotline"
PASSWORD = "imap-test-password-0123"
DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"

_CONF = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = {ssl}
{ssl_files}
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
{users}
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = 0
  }}
}}
service submission-login {{
  inet_listener submission {{
    port = 0
  }}
}}
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Dovecot:
    """One Dovecot process; `restart()` keeps its port and maildir (nothing in it is lost)."""

    def __init__(self, tls: bool = False, extra: str = "") -> None:
        if not Path(DOVECOT).exists():
            raise RuntimeError("dovecot is not installed: run the tests with scripts/test")
        self.root = Path(tempfile.mkdtemp(prefix="hotline-test-dovecot-"))
        self.root.chmod(0o755)
        self.port = free_port()
        self.tls_port = free_port() if tls else 0
        self.cert = self.root / "cert.pem"
        self.process: subprocess.Popen[bytes] | None = None
        if os.geteuid() == 0:
            owner = pwd.getpwnam("mail")
            uid, gid, users = owner.pw_uid, owner.pw_gid, ""
        else:
            me = pwd.getpwuid(os.geteuid())
            uid, gid = me.pw_uid, me.pw_gid
            users = f"default_internal_user = {me.pw_name}\ndefault_login_user = {me.pw_name}"
        ssl, ssl_files = "no", ""
        if tls:
            key = self.root / "key.pem"
            subprocess.run(
                [
                    "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(self.cert),
                ],
                check=True,
                capture_output=True,
            )  # fmt: skip
            ssl, ssl_files = "yes", f"ssl_cert = <{self.cert}\nssl_key = <{key}"
        (self.root / "dovecot.conf").write_text(
            extra
            + "\n"
            + _CONF.format(
                root=self.root,
                ssl=ssl,
                ssl_files=ssl_files,
                users=users,
                uid=uid,
                gid=gid,
                port=self.port,
                tls_port=self.tls_port,
            )
        )
        (self.root / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
        home = self.root / "home" / USER
        home.mkdir(parents=True)
        for path in (self.root / "home", home):
            os.chown(path, uid, gid)

    def start(self) -> None:
        self.process = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(self.root / "dovecot.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                error = self.process.stderr.read().decode() if self.process.stderr else ""
                raise RuntimeError(f"dovecot did not start: {error}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                    if conn.recv(64).startswith(b"* OK"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"dovecot does not answer on port {self.port}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
            self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    async def client(self) -> aioimaplib.IMAP4:
        client = aioimaplib.IMAP4(host="127.0.0.1", port=self.port, timeout=60)
        await client.wait_hello_from_server()
        response = await client.login(USER, PASSWORD)
        assert response.result == "OK", response
        return client

    async def append(self, *messages: bytes) -> None:
        """Deliver messages into INBOX by IMAP APPEND, as a mail server would."""
        client = await self.client()
        try:
            for raw in messages:
                response = await client.append(raw, mailbox="INBOX")
                assert response.result == "OK", response
        finally:
            await client.logout()

    async def flagged(self, keyword: str) -> tuple[int, int]:
        """(messages in INBOX, of them flagged `keyword`)."""
        client = await self.client()
        try:
            await client.select("INBOX")
            every = await client.uid_search("ALL", charset=None)
            marked = await client.uid_search(f"KEYWORD {keyword}", charset=None)
            return len(every.lines[0].split()), len(marked.lines[0].split())
        finally:
            await client.logout()

    async def expunge_all(self) -> None:
        client = await self.client()
        try:
            await client.select("INBOX")
            await client.store("1:*", "+FLAGS.SILENT (\\Deleted)")
            await client.expunge()
        finally:
            await client.logout()

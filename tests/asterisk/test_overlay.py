"""The harness overlay still fits the project's rendered config, and keeps AMI on loopback."""

from __future__ import annotations

from pathlib import Path

from tests.asterisk import overlay
from tests.asterisk.instance import AsteriskInstance


def test_every_change_applies_and_ami_listens_on_loopback_only(tmp_path: Path) -> None:
    instance = AsteriskInstance(tmp_path)
    instance.write_config()
    manager = (instance.etc / "manager.conf").read_text()
    assert "bindaddr = 127.0.0.1" in manager and "0.0.0.0" not in manager.split("[hotline]")[0]
    assert f"port = {instance.endpoints.ami_port}" in manager
    dialplan = (instance.etc / "extensions.conf").read_text()
    assert ":4573/" not in dialplan and f":{instance.endpoints.agi_port}/" in dialplan
    assert "PJSIP/" not in dialplan
    ports = overlay.Ports(ami=1, agi=2)
    assert len(instance.applied) == len(overlay.changes(ports))  # one line per change
    assert all(change.reason for change in overlay.changes(ports))
    # Loopback, ports and the agents' channel are the render's settings, not overlay lines.
    assert not any(
        word in change.find
        for change in overlay.changes(ports)
        for word in ("bindaddr", "port", "PJSIP", "4573")
    )
    assert ",,,,,)" in dialplan and "hotline-whisper)" not in dialplan  # no whisper by default

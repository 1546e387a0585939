"""docker-compose.yml: parses, keeps secrets out of the file, and (with a client) validates."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
import yaml

from tests.conftest import ROOT

COMPOSE = ROOT / "docker-compose.yml"
REQUIRED_ENV = (
    "POSTGRES_PASSWORD",
    "HOTLINE_SESSION_SECRET",
    "HOTLINE_CRM_TOKEN",
    "HOTLINE_AMI_SECRET",
    "HOTLINE_SIP_SECRET",
    "HOTLINE_NUMBER",
    "HOTLINE_TRUNK_HOST",
    "HOTLINE_TRUNK_USER",
    "HOTLINE_TRUNK_SECRET",
)


def test_compose_parses_and_has_the_core_services() -> None:
    spec = yaml.safe_load(COMPOSE.read_text())
    assert {"postgres", "redis", "crm"} <= set(spec["services"])
    for name, service in spec["services"].items():
        assert "healthcheck" in service, name
    assert "--appendonly" in spec["services"]["redis"]["command"]


def test_compose_holds_no_secret_literals() -> None:
    text = COMPOSE.read_text()
    assert "${POSTGRES_PASSWORD:?" in text and "${HOTLINE_API_TOKENS:?" in text
    for name in REQUIRED_ENV:
        assert "${" + name + ":?" in text, name
    spec = yaml.safe_load(text)
    env = spec["services"]["postgres"]["environment"]
    assert env["POSTGRES_PASSWORD"].startswith("${")


def _compose_available() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _compose_available(), reason="no `docker compose` client on this machine")
def test_docker_compose_config_passes() -> None:
    env = {
        **os.environ,
        **{name: "x" * 16 for name in REQUIRED_ENV},
        "HOTLINE_API_TOKENS": "agent:" + "t" * 16,
    }
    run = subprocess.run(
        ["docker", "compose", "-f", str(COMPOSE), "config", "--quiet"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr


HOTLINE_SERVICES = ("crm", "agi", "tracker", "worker")


def test_compose_runs_asterisk_and_every_hotline_component() -> None:
    spec = yaml.safe_load(COMPOSE.read_text())
    services = spec["services"]
    assert set(HOTLINE_SERVICES) | {"asterisk", "asterisk-config"} <= set(services)
    image = services["asterisk"]["image"]
    name, _, tag = image.partition(":")
    assert tag and tag not in ("latest", "stable") and tag.startswith("22."), image
    for name in (*HOTLINE_SERVICES, "asterisk"):
        assert services[name]["healthcheck"]["test"], name
        assert services[name].get("depends_on"), name
    assert services["tracker"]["depends_on"]["asterisk"]["condition"] == "service_healthy"
    assert services["agi"]["depends_on"]["crm"]["condition"] == "service_healthy"
    assert (
        services["asterisk"]["depends_on"]["asterisk-config"]["condition"]
        == "service_completed_successfully"
    )
    # The dialplan dials the FastAGI server the render wrote in (issue 13 item 8), not one
    # read from Asterisk's own environment; AMI listens on and admits the compose network.
    render = services["asterisk-config"]["environment"]
    assert render["HOTLINE_AGI_HOST"] == "agi"
    assert "HOTLINE_AGI_HOST" not in services["asterisk"].get("environment", {})
    assert render["HOTLINE_AMI_BIND"] == "0.0.0.0"
    assert render["HOTLINE_AMI_PERMIT"] == "${HOTLINE_APP_NETWORK:-172.28.0.0/24}"


def test_compose_publishes_only_sip_rtp_and_the_api() -> None:
    spec = yaml.safe_load(COMPOSE.read_text())
    published = {name: service.get("ports", []) for name, service in spec["services"].items()}
    assert {name for name, ports in published.items() if ports} == {"asterisk", "crm"}
    assert published["crm"] == ["8000:8000"]
    asterisk = published["asterisk"]
    assert "5060:5060/udp" in asterisk and all(p.endswith("/udp") for p in asterisk)
    assert not any("5038" in p or "4573" in p for ports in published.values() for p in ports)


def test_the_image_holds_what_the_commands_import() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    for folder in ("core", "hotline", "crm", "agi", "ivr", "queue", "asterisk-config"):
        assert f"COPY {folder} {folder}" in dockerfile, folder
    # The production commands never import the simulator (tests/test_architecture.py).
    assert "COPY asterisksim" not in dockerfile

"""Fixtures for the tracker tests: the recorded Asterisk transcripts and frame builders."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import FIXTURES

TRANSCRIPTS = FIXTURES

SESSIONS = [
    "01-answered",
    "02-slow-answer-outside-sl",
    "03-abandon",
    "04-blind-transfer-twice",
    "05-attended-transfer",
    "06-status-actions",
    "07-fastagi",
]


def transcript(name: str) -> Path:
    path = TRANSCRIPTS / f"{name}.txt"
    if not path.exists():
        pytest.skip(f"transcript {path} not available")
    return path


def frame(**headers: str | list[str]) -> bytes:
    """One AMI frame in CRLF form; a list value repeats the header."""
    lines = []
    for key, value in headers.items():
        for item in value if isinstance(value, list) else [value]:
            lines.append(f"{key}: {item}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@pytest.fixture
def transcripts_dir() -> Path:
    if not TRANSCRIPTS.is_dir():
        pytest.skip("no transcripts")
    return TRANSCRIPTS

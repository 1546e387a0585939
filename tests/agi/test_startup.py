"""The AGI server refuses to start when a prompt it plays is not rendered."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hotline.bootstrap.agi import PLAYED, MissingPrompts, check_prompts
from tests.agi.conftest import AGI_REDIS_URL, SOUNDS


def test_committed_prompts_are_complete() -> None:
    check_prompts(SOUNDS)  # raises if anything is missing


def test_a_missing_prompt_is_named(tmp_path: Path) -> None:
    sounds = tmp_path / "sounds"
    shutil.copytree(SOUNDS, sounds)
    (sounds / "en" / "hotline" / "welcome.wav").unlink()
    manifest = json.loads((sounds / "manifest.json").read_text())
    del manifest["files"]["ru/hotline/survey-rate.wav"]
    (sounds / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(MissingPrompts) as refused:
        check_prompts(sounds)
    assert "en/hotline/welcome.wav" in str(refused.value)
    assert "ru/hotline/survey-rate.wav" in str(refused.value)
    assert "hotline prompts render" in str(refused.value)


def test_every_played_prompt_is_in_the_catalogue() -> None:
    from ivr.catalogue import PROMPTS, SILENCES

    assert set(PLAYED) <= set(PROMPTS) | set(SILENCES)


def test_hotline_agi_exits_naming_missing_prompts(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "hotline.cli", "agi", "--port", "0", "--sounds", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        env={
            "PATH": "/usr/bin:/bin",
            "HOTLINE_AMI_PORT": "1",
            "HOTLINE_REDIS_URL": AGI_REDIS_URL,
        },
    )
    assert run.returncode == 2, run.stderr
    assert "prompts not rendered" in run.stderr and "ru/hotline/welcome.wav" in run.stderr

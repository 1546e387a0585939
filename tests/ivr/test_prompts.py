"""Prompts: a complete catalogue, rendered to telephone audio, re-rendered only when changed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile

from ivr import catalogue
from ivr.readout import group_digits
from ivr.render import missing_sounds, read_manifest, render


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sounds")
    report = render(out)
    assert len(report.rendered) == len(catalogue.LANGUAGES) * (len(catalogue.PROMPTS) + 10)
    return out


def test_every_prompt_has_every_language() -> None:
    for name, texts in catalogue.PROMPTS.items():
        assert set(texts) == set(catalogue.LANGUAGES), name
        assert all(t.strip() for t in texts.values()), name


def test_rendered_files_are_telephone_audio(rendered: Path) -> None:
    for language in catalogue.LANGUAGES:
        for sound in catalogue.all_sound_files():
            path = rendered / language / f"{sound}.wav"
            info = soundfile.info(path)
            assert (info.samplerate, info.channels, info.subtype) == (8000, 1, "PCM_16"), path
            assert info.duration > 0.2, path
            audio, _ = soundfile.read(path, dtype="float32")
            assert float(np.sqrt(np.mean(audio**2))) > 0.01, f"{path} is silent"


def test_longer_text_gives_longer_audio(rendered: Path) -> None:
    hours = soundfile.info(rendered / "ru/hotline/closed-hours.wav").duration
    digit = soundfile.info(rendered / "ru/digits/1.wav").duration
    assert hours > 4 * digit


def test_only_changed_prompts_are_rendered_again(
    rendered: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = read_manifest(rendered)
    again = render(rendered)
    assert again.rendered == [] and len(again.unchanged) == len(before)
    monkeypatch.setitem(
        catalogue.PROMPTS,
        "uin-write-down",
        {"ru": "Запишите, пожалуйста, номер.", "en": "Please note it down."},
    )
    changed = render(rendered)
    assert sorted(changed.rendered) == [
        "en/hotline/uin-write-down.wav",
        "ru/hotline/uin-write-down.wav",
    ]
    assert read_manifest(rendered)["ru/hotline/uin-write-down.wav"]["text"] == (
        "Запишите, пожалуйста, номер."
    )


def test_missing_sounds_are_named(rendered: Path, tmp_path: Path) -> None:
    assert missing_sounds(rendered, ["hotline/uin-intro", "digits/7"]) == []
    assert missing_sounds(rendered, ["hotline/no-such-prompt"]) == [
        "ru/hotline/no-such-prompt.wav",
        "en/hotline/no-such-prompt.wav",
    ]
    assert missing_sounds(tmp_path, ["hotline/uin-intro"], ["ru"]) == ["ru/hotline/uin-intro.wav"]


def test_the_committed_sounds_match_the_catalogue() -> None:
    """`hotline prompts render` was run after the last catalogue change."""
    committed = Path(__file__).resolve().parents[2] / "asterisk-config" / "sounds"
    assert missing_sounds(committed, catalogue.all_sound_files()) == []
    manifest = read_manifest(committed)
    for language in catalogue.LANGUAGES:
        for sound in catalogue.all_sound_files():
            assert manifest[f"{language}/{sound}.wav"]["text"] == catalogue.text_of(
                sound, language
            ), sound


@pytest.mark.parametrize(
    "uin, size, groups",
    [
        ("00012345", 4, ["0001", "2345"]),
        ("1234567890", 3, ["1", "234", "567", "890"]),
        ("123", 4, ["123"]),
    ],
)
def test_group_digits(uin: str, size: int, groups: list[str]) -> None:
    assert group_digits(uin, size) == groups


@pytest.mark.parametrize("bad", ["12a4", "", "12 34"])
def test_group_digits_refuses_non_digits(bad: str) -> None:
    with pytest.raises(ValueError):
        group_digits(bad)

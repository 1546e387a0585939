"""Prompts: a complete catalogue, rendered to telephone audio, re-rendered only when changed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile

from core.settings import CalendarSettings
from ivr import catalogue
from ivr.hours import closed_hours_text, genitive_number
from ivr.render import missing_sounds, read_manifest, render, stale_prompts


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sounds")
    report = render(out)
    sounds = len(catalogue.PROMPTS) + len(catalogue.SILENCES) + 10
    assert len(report.rendered) == len(catalogue.LANGUAGES) * sounds
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
            if sound.removeprefix("hotline/") in catalogue.SILENCES:
                continue
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
        "uin-not-found",
        {"ru": "Такого номера нет.", "en": "No such number."},
    )
    changed = render(rendered)
    assert sorted(changed.rendered) == [
        "en/hotline/uin-not-found.wav",
        "ru/hotline/uin-not-found.wav",
    ]
    assert read_manifest(rendered)["ru/hotline/uin-not-found.wav"]["text"] == "Такого номера нет."


def test_missing_sounds_are_named(rendered: Path, tmp_path: Path) -> None:
    assert missing_sounds(rendered, ["hotline/welcome", "digits/7"]) == []
    assert missing_sounds(rendered, ["hotline/no-such-prompt"]) == [
        "ru/hotline/no-such-prompt.wav",
        "en/hotline/no-such-prompt.wav",
    ]
    assert missing_sounds(tmp_path, ["hotline/welcome"], ["ru"]) == ["ru/hotline/welcome.wav"]


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


def test_the_pause_between_groups_is_an_audible_silence(rendered: Path) -> None:
    for language in catalogue.LANGUAGES:
        audio, rate = soundfile.read(rendered / language / "hotline/pause.wav", dtype="float32")
        assert 0.4 <= len(audio) / rate <= 0.6
        assert float(np.max(np.abs(audio))) == 0.0


def test_the_welcome_is_short_enough_for_the_digits_to_start_within_2_s(rendered: Path) -> None:
    """Spoken brisk, espeak's trailing silence cut: the UIN follows it at once."""
    manifest = read_manifest(rendered)
    for language in catalogue.LANGUAGES:
        assert manifest[f"{language}/hotline/welcome.wav"]["duration_s"] <= 1.6
        audio, rate = soundfile.read(rendered / language / "hotline/welcome.wav")
        tail = audio[-int(0.15 * rate) :]
        assert float(np.max(np.abs(tail))) > 0.01  # the voice runs to within 0.15 s of the end


def test_the_closed_hours_prompt_follows_hotline_hours(tmp_path: Path) -> None:
    site = CalendarSettings(hours="mon-thu 08:30-17:30, fri 08:30-16:00", timezone="Asia/Omsk")
    ru = closed_hours_text("ru", site.hours, site.timezone)
    assert "с понедельника по четверг с восьми тридцати до семнадцати тридцати" in ru
    assert "в пятницу с восьми тридцати до шестнадцати" in ru and "омскому" in ru
    assert "девяти" not in ru and "московскому" not in ru
    en = closed_hours_text("en", site.hours, site.timezone)
    assert "Monday to Thursday, 8:30 to 17:30; on Friday, 8:30 to 16:00, Omsk time" in en
    # Rendered with the site's hours; the defaults' prompt is stale for that site.
    render(tmp_path, ["ru"], calendar=site)
    assert read_manifest(tmp_path)["ru/hotline/closed-hours.wav"]["text"] == ru
    assert stale_prompts(tmp_path, site, ["ru"]) == []
    assert stale_prompts(tmp_path, CalendarSettings(), ["ru"]) == ["ru/hotline/closed-hours.wav"]


def test_the_default_closed_hours_say_nine_to_eighteen_moscow_time() -> None:
    ru = catalogue.PROMPTS["closed-hours"]["ru"]
    assert "с понедельника по пятницу с девяти до восемнадцати часов по московскому" in ru
    assert genitive_number(23) == "двадцати трёх" and genitive_number(0) == "ноля"


def test_sounds_no_longer_in_the_catalogue_are_removed(rendered: Path) -> None:
    stale = rendered / "ru" / "hotline" / "uin-intro.wav"
    stale.write_bytes((rendered / "ru" / "hotline" / "welcome.wav").read_bytes())
    manifest_path = rendered / "manifest.json"
    import json

    data = json.loads(manifest_path.read_text())
    data["files"]["ru/hotline/uin-intro.wav"] = {"fingerprint": "x", "text": "x", "duration_s": 1}
    manifest_path.write_text(json.dumps(data))
    report = render(rendered)
    assert report.removed == ["ru/hotline/uin-intro.wav"] and not stale.exists()


def test_rendering_twice_gives_the_same_audio(rendered: Path, tmp_path: Path) -> None:
    """Each utterance's voice and speed are its own (pyttsx3's driver, before, now and then
    spoke a prompt at the previous one's speed: the welcome came out 1.5 or 1.9 s long)."""
    render(tmp_path)
    for language in catalogue.LANGUAGES:
        for sound in catalogue.all_sound_files():
            name = f"{language}/{sound}.wav"
            assert (tmp_path / name).read_bytes() == (rendered / name).read_bytes(), name

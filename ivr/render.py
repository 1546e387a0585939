"""Render the prompt catalogue to telephone audio: espeak-ng -> 8 kHz mono PCM WAV.

Files land in `<out>/<lang>/hotline/<name>.wav` and `<out>/<lang>/digits/<d>.wav`, the
layout Asterisk's `sounds/<lang>/` expects. `manifest.json` beside them records a hash
of each text (with voice and rate) and each file's duration: only what changed is
rendered again. The closed-hours prompt's text comes from the site's hours
(`HOTLINE_HOURS`, `HOTLINE_TIMEZONE`); the silences (`catalogue.SILENCES`) are written
as they are, not spoken. Each utterance is one run of the `espeak-ng` command.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile
import soxr

from core.settings import CalendarSettings
from ivr.catalogue import (
    BRISK,
    LANGUAGES,
    PROMPT_DIR,
    SILENCES,
    all_sound_files,
    prompts_for,
    text_of,
)

SAMPLE_RATE_HZ = 8000
MANIFEST = "manifest.json"
ESPEAK = "espeak-ng"
VOICES = {"ru": "zle/ru", "en": "gmw/en"}
RATE_WPM = 150  # a little slower than espeak's 175: numbers are being written down
BRISK_RATE_WPM = 190  # `catalogue.BRISK`: the prompts between the answer and the queue
BRISK_TAIL_S = 0.08  # what is kept of espeak's trailing silence after a brisk prompt


@dataclass
class RenderReport:
    rendered: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)  # no longer in the catalogue


def _fingerprint(text: str, language: str, rate_wpm: int = RATE_WPM, trim: bool = False) -> str:
    tail = f"|trim {BRISK_TAIL_S}" if trim else ""
    return hashlib.sha256(f"{VOICES[language]}|{rate_wpm}|{text}{tail}".encode()).hexdigest()


def _silence_fingerprint(seconds: float) -> str:
    return hashlib.sha256(f"silence|{seconds}|{SAMPLE_RATE_HZ}".encode()).hexdigest()


def read_manifest(out_dir: Path) -> dict[str, dict[str, object]]:
    path = out_dir / MANIFEST
    if not path.exists():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))["files"]


class _Speaker:
    """`speak` renders one text to a WAV file with espeak-ng's own command, one process per
    utterance: the voice and the speed are its arguments, so no utterance can take another's.

    (pyttsx3 2.99's espeak driver, used before, returned from `runAndWait` before the end of
    an utterance now and then; under load the next utterance then came out at the previous
    one's speed: an English welcome at 150 words a minute instead of 190, 1.9 s long.)
    """

    TIMEOUT_S = 60

    def __init__(self, work_dir: Path) -> None:
        self._work_dir = work_dir
        self._serial = 0

    def speak(self, text: str, language: str, rate_wpm: int = RATE_WPM) -> Path:
        """Render `text`; returns the path of the WAV espeak-ng wrote."""
        self._serial += 1
        wav = self._work_dir / f"utterance-{self._serial}.wav"
        command = [ESPEAK, "-v", VOICES[language], "-s", str(rate_wpm), "-w", str(wav), "--stdin"]
        try:
            subprocess.run(
                command,
                input=text.encode(),
                capture_output=True,
                check=True,
                timeout=self.TIMEOUT_S,
            )
        except FileNotFoundError:
            raise RuntimeError(f"{ESPEAK} is not installed (apt-get install espeak-ng)") from None
        except subprocess.CalledProcessError as failed:
            raise RuntimeError(
                f"{ESPEAK} failed for {text!r}: {failed.stderr.decode(errors='replace').strip()}"
            ) from None
        if not wav.exists() or wav.stat().st_size <= 44:  # no more than a bare WAV header
            raise RuntimeError(f"{ESPEAK} wrote no audio for {text!r}")
        return wav


def _to_telephone(source: Path, target: Path, trim: bool = False) -> float:
    """Convert a WAV to 8000 Hz mono 16-bit PCM; returns its duration in seconds.

    `trim`: cut espeak's trailing silence down to `BRISK_TAIL_S`."""
    data, rate = soundfile.read(source, dtype="float32", always_2d=True)
    mono = data.mean(axis=1)
    audio = soxr.resample(mono, rate, SAMPLE_RATE_HZ) if rate != SAMPLE_RATE_HZ else mono
    audio = np.clip(audio, -1.0, 1.0)
    if trim:
        voiced = np.flatnonzero(np.abs(audio) > 0.01)
        if voiced.size:
            audio = audio[: voiced[-1] + 1 + int(BRISK_TAIL_S * SAMPLE_RATE_HZ)]
    return _write(target, audio)


def _write(target: Path, audio: np.ndarray) -> float:
    target.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(target, audio, SAMPLE_RATE_HZ, subtype="PCM_16", format="WAV")
    return len(audio) / SAMPLE_RATE_HZ


def render(
    out_dir: Path,
    languages: Iterable[str] = LANGUAGES,
    force: bool = False,
    calendar: CalendarSettings | None = None,
) -> RenderReport:
    """Render every prompt, silence and digit of `languages` that is missing or changed.

    `calendar`: the site's hours for the closed-hours prompt (the defaults' if None).
    Entries of sounds no longer in the catalogue leave the manifest, and their files go."""
    report = RenderReport()
    manifest = read_manifest(out_dir)
    prompts = prompts_for(calendar)
    wanted: set[str] = set()
    with tempfile.TemporaryDirectory() as tmp:
        speaker = _Speaker(Path(tmp))
        for language in languages:
            if language not in VOICES:
                raise ValueError(f"no voice for language {language!r}")
            for sound in all_sound_files():
                key = f"{language}/{sound}.wav"
                wanted.add(key)
                name = sound.partition("/")[2]
                text = text_of(sound, language, prompts)
                brisk = sound.startswith(f"{PROMPT_DIR}/") and name in BRISK
                rate_wpm = BRISK_RATE_WPM if brisk else RATE_WPM
                silence_s = SILENCES.get(name) if sound.startswith(f"{PROMPT_DIR}/") else None
                if silence_s is not None:
                    fingerprint = _silence_fingerprint(silence_s)
                else:
                    fingerprint = _fingerprint(text, language, rate_wpm, trim=brisk)
                entry = manifest.get(key, {})
                if (
                    not force
                    and entry.get("fingerprint") == fingerprint
                    and (out_dir / key).exists()
                ):
                    report.unchanged.append(key)
                    continue
                if silence_s is not None:
                    samples = np.zeros(round(silence_s * SAMPLE_RATE_HZ), dtype="float32")
                    duration_s = _write(out_dir / key, samples)
                else:
                    raw = speaker.speak(text, language, rate_wpm)
                    duration_s = _to_telephone(raw, out_dir / key, trim=brisk)
                manifest[key] = {
                    "fingerprint": fingerprint,
                    "text": text,
                    "duration_s": round(duration_s, 3),
                }
                report.rendered.append(key)
    for key in sorted(set(manifest) - wanted):
        if key.split("/", 1)[0] in languages:
            del manifest[key]
            (out_dir / key).unlink(missing_ok=True)
            report.removed.append(key)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / MANIFEST).write_text(
        json.dumps(
            {
                "format": f"wav {SAMPLE_RATE_HZ} Hz mono pcm16",
                "files": dict(sorted(manifest.items())),
            },
            ensure_ascii=False,
            indent=1,
        )
        + "\n",
        encoding="utf-8",
    )
    return report


def stale_prompts(
    out_dir: Path, calendar: CalendarSettings, languages: Iterable[str] = LANGUAGES
) -> list[str]:
    """Rendered prompts whose text is not what `calendar` makes of them (the closed-hours
    prompt of other hours): `hotline prompts render` brings them up to date."""
    manifest = read_manifest(out_dir)
    prompts = prompts_for(calendar)
    return [
        f"{language}/{PROMPT_DIR}/closed-hours.wav"
        for language in languages
        if manifest.get(f"{language}/{PROMPT_DIR}/closed-hours.wav", {}).get("text")
        != prompts["closed-hours"][language]
    ]


def missing_sounds(
    out_dir: Path, needed: Iterable[str], languages: Iterable[str] = LANGUAGES
) -> list[str]:
    """Sounds (`hotline/<name>`, `digits/<d>`) of `needed` not rendered for some language."""
    manifest = read_manifest(out_dir)
    missing = []
    for language in languages:
        for sound in needed:
            key = f"{language}/{sound}.wav"
            if key not in manifest or not (out_dir / key).exists():
                missing.append(key)
    return missing

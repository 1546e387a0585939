"""Render the prompt catalogue to telephone audio: pyttsx3 (espeak-ng) -> 8 kHz mono PCM WAV.

Files land in `<out>/<lang>/hotline/<name>.wav` and `<out>/<lang>/digits/<d>.wav`, the
layout Asterisk's `sounds/<lang>/` expects. `manifest.json` beside them records a hash
of each text (with voice and rate): only what changed is rendered again. pyttsx3's engine
is process-wide and not thread-safe, so every utterance goes through one worker thread.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import tempfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import soundfile
import soxr

from ivr.catalogue import LANGUAGES, all_sound_files, text_of

SAMPLE_RATE_HZ = 8000
MANIFEST = "manifest.json"
VOICES = {"ru": "zle/ru", "en": "gmw/en"}
RATE_WPM = 150  # a little slower than espeak's 175: numbers are being written down


@dataclass
class RenderReport:
    rendered: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def _fingerprint(text: str, language: str) -> str:
    return hashlib.sha256(f"{VOICES[language]}|{RATE_WPM}|{text}".encode()).hexdigest()


def read_manifest(out_dir: Path) -> dict[str, dict[str, object]]:
    path = out_dir / MANIFEST
    if not path.exists():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))["files"]


class _Speaker:
    """Owns the pyttsx3 engine on one thread; `speak` renders one text to a WAV file.

    pyttsx3 2.99's espeak driver now and then returns from `runAndWait` before the end of
    the utterance has written the file (the file then appears late, or never). So every
    utterance gets a file name of its own (a late write can never land on another
    prompt's file) and an utterance whose file is missing is spoken again.
    """

    ATTEMPTS = 3
    # pyttsx3 caches one engine per process and espeak's state is global: every render in
    # the process goes through this one thread, created on first use.
    _pool: ThreadPoolExecutor | None = None
    _engine: Any = None
    _serial = 0

    def __init__(self, work_dir: Path) -> None:
        self._work_dir = work_dir
        if _Speaker._pool is None:
            _Speaker._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pyttsx3")

    def speak(self, text: str, language: str) -> Path:
        """Render `text`; returns the path of the WAV pyttsx3 wrote."""
        assert _Speaker._pool is not None
        for _attempt in range(self.ATTEMPTS):
            _Speaker._serial += 1
            wav = self._work_dir / f"utterance-{_Speaker._serial}.wav"
            _Speaker._pool.submit(self._speak, text, language, wav).result()
            if wav.exists() and wav.stat().st_size > 44:  # more than a bare WAV header
                return wav
        raise RuntimeError(f"pyttsx3 wrote no audio for {text!r} in {self.ATTEMPTS} attempts")

    @staticmethod
    def _speak(text: str, language: str, wav: Path) -> None:
        import pyttsx3  # imported here: loading the driver needs espeak-ng installed

        if _Speaker._engine is None:
            _Speaker._engine = pyttsx3.init("espeak")
            _Speaker._engine.setProperty("rate", RATE_WPM)
        engine = _Speaker._engine
        engine.setProperty("voice", VOICES[language])
        with contextlib.redirect_stdout(io.StringIO()):  # pyttsx3 prints every file it saves
            engine.save_to_file(text, str(wav))
            engine.runAndWait()


def _to_telephone(source: Path, target: Path) -> float:
    """Convert a WAV to 8000 Hz mono 16-bit PCM; returns its duration in seconds."""
    data, rate = soundfile.read(source, dtype="float32", always_2d=True)
    mono = data.mean(axis=1)
    audio = soxr.resample(mono, rate, SAMPLE_RATE_HZ) if rate != SAMPLE_RATE_HZ else mono
    audio = np.clip(audio, -1.0, 1.0)
    target.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(target, audio, SAMPLE_RATE_HZ, subtype="PCM_16", format="WAV")
    return len(audio) / SAMPLE_RATE_HZ


def render(
    out_dir: Path, languages: Iterable[str] = LANGUAGES, force: bool = False
) -> RenderReport:
    """Render every prompt and digit of `languages` that is missing or changed."""
    report = RenderReport()
    manifest = read_manifest(out_dir)
    with tempfile.TemporaryDirectory() as tmp:
        speaker = _Speaker(Path(tmp))
        for language in languages:
            if language not in VOICES:
                raise ValueError(f"no voice for language {language!r}")
            for sound in all_sound_files():
                key = f"{language}/{sound}.wav"
                text = text_of(sound, language)
                fingerprint = _fingerprint(text, language)
                entry = manifest.get(key, {})
                if (
                    not force
                    and entry.get("fingerprint") == fingerprint
                    and (out_dir / key).exists()
                ):
                    report.unchanged.append(key)
                    continue
                raw = speaker.speak(text, language)
                duration_s = _to_telephone(raw, out_dir / key)
                manifest[key] = {
                    "fingerprint": fingerprint,
                    "text": text,
                    "duration_s": round(duration_s, 3),
                }
                report.rendered.append(key)
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

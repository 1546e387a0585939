"""Reading AMI transcripts (the form of `tests/fixtures/asterisk/*.txt`) into frames."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

BANNER_PREFIX = b"Asterisk Call Manager/"


@dataclass
class Frame:
    """One AMI frame: ordered headers (repeats kept), with quick access to the first value."""

    headers: list[tuple[str, str]]

    def get(self, name: str, default: str | None = None) -> str | None:
        for key, value in self.headers:
            if key == name:
                return value
        return default

    def __getitem__(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def __contains__(self, name: object) -> bool:
        return any(key == name for key, _ in self.headers)

    @property
    def event(self) -> str | None:
        return self.get("Event")

    @property
    def names(self) -> list[str]:
        return [key for key, _ in self.headers]


def parse(data: bytes) -> tuple[str | None, list[Frame]]:
    """Bytes an AMI server sent -> (banner line, frames). Accepts CRLF or LF."""
    text = data.replace(b"\r\n", b"\n")
    banner = None
    if text.startswith(BANNER_PREFIX):
        line, _, text = text.partition(b"\n")
        banner = line.decode()
    frames = []
    for chunk in text.split(b"\n\n"):
        lines = [ln for ln in chunk.decode("utf-8", "replace").split("\n") if ln]
        if not lines:
            continue
        headers = []
        for line in lines:
            key, _, value = line.partition(":")
            headers.append((key, value[1:] if value.startswith(" ") else value))
        frames.append(Frame(headers))
    return banner, frames


def read(path: str | Path) -> tuple[str | None, list[Frame]]:
    return parse(Path(path).read_bytes())

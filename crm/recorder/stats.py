"""What one recorder has done so far: the counters the demo, the bench and the tests read."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class RecorderStats:
    applied: int = 0
    duplicates: int = 0
    dead: int = 0
    orphans_ticketed: int = 0

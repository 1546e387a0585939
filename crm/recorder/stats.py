"""What one recorder has done so far: the counters the demo, the bench and the tests read."""

from __future__ import annotations

from dataclasses import dataclass

from core.consumer import ConsumerStats


@dataclass
class RecorderStats(ConsumerStats):
    applied: int = 0
    duplicates: int = 0
    orphans_ticketed: int = 0

    @property
    def dead(self) -> int:
        """Entries moved to the dead letters (the recorder's group is the one that does)."""
        return self.unreadable

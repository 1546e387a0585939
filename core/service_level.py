"""Service-level maths over queue entries: our figure, Asterisk's perf/perf2, ASA, buckets.

- `sl` = answered within T / (answered + abandoned after S): short abandons (the caller
  gave up within S seconds) are neither good nor bad service.
- `perf` = answered within T / answered and `perf2` = (answered within T + abandoned
  within T) / (answered + abandoned): Asterisk's `ServicelevelPerf`/`ServicelevelPerf2`.
  app_queue decides "within" on whole seconds (`HoldTime`), so these use `wait_whole_s`
  and print with one decimal as Asterisk does; with nothing to count they are 0.0, as
  in `QueueParams`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

Outcome = Literal["waiting", "answered", "abandoned", "left"]
# The defaults of the `sl` settings, and of every figure asked for without them.
DEFAULT_THRESHOLD_S = 40  # T: answered within T seconds is good service
DEFAULT_SHORT_ABANDON_S = 5  # S: an abandon within S seconds counts neither way
ALL_QUEUES = "all"
BUCKET_S = 15
BUCKETS = 8  # 0-15 ... 105-120, then "120+"
BUCKET_LABELS = (
    *(f"{i * BUCKET_S}-{(i + 1) * BUCKET_S}" for i in range(BUCKETS)),
    f"{BUCKETS * BUCKET_S}+",
)


@dataclass(frozen=True, slots=True)
class EntryOutcome:
    """One queue entry as the maths sees it, whoever kept it (tracker, Redis, SQL, truth).

    `wait_whole_s` is app_queue's whole-second wait (`HoldTime`); where it is not known
    (SQL keeps the float wait) the float wait truncated stands in for it.
    """

    queue: str
    outcome: Outcome
    wait_s: float | None = None
    wait_whole_s: int | None = None
    completed: bool = False  # answered and over

    @property
    def answered(self) -> bool:
        return self.outcome == "answered"

    @property
    def abandoned(self) -> bool:
        return self.outcome == "abandoned"


def answered_within(wait_s: float, threshold_s: float) -> bool:
    """The one rule of "within the service level": a wait of exactly T is within."""
    return wait_s <= threshold_s


def asterisk_pct(numerator: int, denominator: int) -> float:
    """A percentage rounded the way Asterisk prints it (`%2.1f`)."""
    if denominator <= 0:
        return 0.0
    return float(f"{100.0 * numerator / denominator:.1f}")


@dataclass
class QueueFigures:
    """Counts over the entries of one queue (or all queues)."""

    threshold_s: int
    short_abandon_s: int
    offered: int = 0
    answered: int = 0
    completed: int = 0  # answered and over (QueueParams' Completed counts these)
    answered_within: int = 0  # float wait <= T (our figure)
    answered_within_whole_s: int = 0  # whole-second wait <= T (Asterisk's)
    abandoned: int = 0
    abandoned_short: int = 0  # within S seconds
    abandoned_within_whole_s: int = 0
    waiting: int = 0
    wait_answered_sum_s: float = 0.0
    longest_wait_s: float = 0.0
    buckets: list[int] = field(default_factory=lambda: [0] * (BUCKETS + 1))

    def add(self, entry: EntryOutcome) -> None:
        self.offered += 1
        wait_s = entry.wait_s or 0.0
        whole_s = entry.wait_whole_s if entry.wait_whole_s is not None else int(wait_s)
        if entry.answered:
            self.answered += 1
            self.completed += entry.completed
            self.wait_answered_sum_s += wait_s
            self.answered_within += answered_within(wait_s, self.threshold_s)
            self.answered_within_whole_s += answered_within(whole_s, self.threshold_s)
            self.buckets[min(int(wait_s // BUCKET_S), BUCKETS)] += 1
        elif entry.abandoned:
            self.abandoned += 1
            self.abandoned_short += wait_s <= self.short_abandon_s
            self.abandoned_within_whole_s += answered_within(whole_s, self.threshold_s)
        elif entry.outcome == "waiting":
            self.waiting += 1
        if entry.answered or entry.abandoned:
            self.longest_wait_s = max(self.longest_wait_s, wait_s)

    def merge(self, other: QueueFigures) -> None:
        """Add the counts of `other` (figures of other entries) to these."""
        for name in COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.wait_answered_sum_s += other.wait_answered_sum_s
        self.longest_wait_s = max(self.longest_wait_s, other.longest_wait_s)
        self.buckets = [a + b for a, b in zip(self.buckets, other.buckets, strict=True)]

    def rates(self) -> tuple[float | None, float, float, float | None, float | None, float]:
        """`sl`, `perf`, `perf2`, `asa_s`, `abandon_rate`, `longest_wait_s`, rounded."""
        counted = self.answered + self.abandoned - self.abandoned_short
        handled = self.answered + self.abandoned
        return (
            round(100.0 * self.answered_within / counted, 1) if counted else None,
            asterisk_pct(self.answered_within_whole_s, self.answered),
            asterisk_pct(self.answered_within_whole_s + self.abandoned_within_whole_s, handled),
            round(self.wait_answered_sum_s / self.answered, 3) if self.answered else None,
            round(100.0 * self.abandoned / handled, 1) if handled else None,
            round(self.longest_wait_s, 3),
        )

    def as_dict(self) -> dict[str, Any]:
        sl, perf, perf2, asa_s, abandon_rate, longest_wait_s = self.rates()
        return {
            "threshold_s": self.threshold_s,
            "short_abandon_s": self.short_abandon_s,
            "offered": self.offered,
            "answered": self.answered,
            "completed": self.completed,
            "answered_within": self.answered_within,
            "answered_within_whole_s": self.answered_within_whole_s,
            "abandoned": self.abandoned,
            "abandoned_short": self.abandoned_short,
            "abandoned_within_whole_s": self.abandoned_within_whole_s,
            "waiting": self.waiting,
            "sl": sl,
            "perf": perf,
            "perf2": perf2,
            "asa_s": asa_s,
            "abandon_rate": abandon_rate,
            "longest_wait_s": longest_wait_s,
            "answered_within_buckets": dict(zip(BUCKET_LABELS, self.buckets, strict=True)),
        }

    def as_json(self) -> str:
        """`as_dict()` as JSON text, written without the dict (reports write thousands).

        >>> figures = QueueFigures(40, 5, offered=2, answered=1, answered_within=1)
        >>> import json; json.loads(figures.as_json()) == figures.as_dict()
        True
        """
        return FIGURES_JSON % (
            self.threshold_s,
            self.short_abandon_s,
            self.offered,
            self.answered,
            self.completed,
            self.answered_within,
            self.answered_within_whole_s,
            self.abandoned,
            self.abandoned_short,
            self.abandoned_within_whole_s,
            self.waiting,
            *map(_json_number, self.rates()),
            *self.buckets,
        )


def _json_number(value: float | None) -> str:
    return "null" if value is None else repr(float(value))


COUNTS = (
    "offered",
    "answered",
    "completed",
    "answered_within",
    "answered_within_whole_s",
    "abandoned",
    "abandoned_short",
    "abandoned_within_whole_s",
    "waiting",
)

FIGURES_JSON = (
    "{"
    + ", ".join(f'"{name}": %d' for name in ("threshold_s", "short_abandon_s", *COUNTS))
    + ", "
    + ", ".join(
        f'"{name}": %s'
        for name in ("sl", "perf", "perf2", "asa_s", "abandon_rate", "longest_wait_s")
    )
    + ', "answered_within_buckets": {'
    + ", ".join(f'"{label}": %d' for label in BUCKET_LABELS)
    + "}}"
)


def service_level(
    entries: Iterable[EntryOutcome],
    threshold_s: int = DEFAULT_THRESHOLD_S,
    short_abandon_s: int = DEFAULT_SHORT_ABANDON_S,
) -> dict[str, dict[str, Any]]:
    """Figures per queue and over all queues (`"all"`), each a JSON-ready dict."""
    if threshold_s < 1 or short_abandon_s < 0:
        raise ValueError("the service-level threshold must be >= 1 s and the short abandon >= 0 s")
    per_queue: dict[str, QueueFigures] = {}
    overall = QueueFigures(threshold_s, short_abandon_s)
    for entry in entries:
        figures = per_queue.get(entry.queue)
        if figures is None:
            figures = per_queue[entry.queue] = QueueFigures(threshold_s, short_abandon_s)
        figures.add(entry)
        overall.add(entry)
    result = {queue: figures.as_dict() for queue, figures in sorted(per_queue.items())}
    result[ALL_QUEUES] = overall.as_dict()
    return result

"""The supervisor's figures in Prometheus text format, from one snapshot read from Redis."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

MEDIA_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def prometheus_text(
    counters: dict[str, dict[str, int]], live: dict[str, Any], owed: dict[str, int] | None = None
) -> bytes:
    """The metrics of the queues' counters and of their live figures (`read_queues`), and of
    the AGI server's owed tickets (`crm.owed.read_owed`)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(counters, live, owed or {}))
    return generate_latest(registry)


class _Snapshot(Collector):
    """Collector over figures read from Redis just before `generate_latest`."""

    def __init__(
        self, counters: dict[str, dict[str, int]], live: dict[str, Any], owed: dict[str, int]
    ) -> None:
        self._counters = counters
        self._live = live
        self._owed = owed

    def collect(self) -> Iterable[Metric]:
        counters = {
            "offered": "Queue entries (callers offered to the queue)",
            "answered": "Queue entries answered by an agent",
            "answered_within_threshold": "Entries answered within the threshold T",
            "abandoned": "Queue entries abandoned by the caller",
        }
        for name, doc in counters.items():
            family = CounterMetricFamily(f"hotline_queue_{name}", doc, labels=["queue"])
            field = "answered_within" if name == "answered_within_threshold" else name
            for queue, values in sorted(self._counters.items()):
                family.add_metric([queue], values.get(field, 0))
            yield family
        waiting = GaugeMetricFamily(
            "hotline_queue_waiting_callers", "Callers waiting now", labels=["queue"]
        )
        longest = GaugeMetricFamily(
            "hotline_queue_longest_wait_seconds", "Longest wait now", labels=["queue"]
        )
        level = GaugeMetricFamily(
            "hotline_queue_service_level_percent",
            "Answered within T / (answered + abandoned after S), in percent",
            labels=["queue", "window"],
        )
        for queue in [*self._live["queues"], self._live["all"]]:
            waiting.add_metric([queue["queue"]], queue["waiting_count"])
            longest.add_metric([queue["queue"]], queue["longest_wait_s"])
            for window, figures in queue["service_level"].items():
                if figures["sl"] is not None:
                    level.add_metric([queue["queue"], window], figures["sl"])
        yield waiting
        yield longest
        yield level
        for key, doc in (
            ("owed", "Tickets owed for UINs callers heard, not yet created in the CRM"),
            ("set_aside", "Owed tickets the CRM refused for good, kept for a person"),
        ):
            if key in self._owed:
                name = "hotline_owed_tickets" + ("_set_aside" if key == "set_aside" else "")
                yield GaugeMetricFamily(name, doc, value=self._owed[key])
        seen = self._live["tracker_seen_at"]
        if seen is not None:
            yield GaugeMetricFamily(
                "hotline_tracker_last_write_timestamp_seconds",
                "When the tracker last wrote the live state",
                value=seen,
            )

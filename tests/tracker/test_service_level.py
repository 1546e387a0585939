"""Service-level maths: whole-second 'within' for perf/perf2, short abandons, buckets."""

from __future__ import annotations

import pytest

from core.service_level import EntryOutcome, asterisk_pct, service_level


def _entry(queue: str, outcome: str, wait_s: float, whole_s: int | None = None) -> EntryOutcome:
    if outcome == "waiting":
        return EntryOutcome(queue, "waiting")
    return EntryOutcome(queue, outcome, wait_s, whole_s if whole_s is not None else int(wait_s))


def test_asterisk_rounding() -> None:
    assert asterisk_pct(2, 3) == 66.7
    assert asterisk_pct(5, 6) == 83.3
    assert asterisk_pct(6, 7) == 85.7
    assert asterisk_pct(1, 8) == 12.5
    assert asterisk_pct(0, 0) == 0.0  # QueueParams prints 0.0 with no calls


def test_whole_seconds_decide_perf_floats_decide_sl() -> None:
    entries = [
        _entry("hotline", "answered", 39.6, whole_s=40),  # within both ways
        _entry("hotline", "answered", 40.3, whole_s=40),  # app_queue: within; float: not
        _entry("hotline", "answered", 39.9, whole_s=41),  # float: within; app_queue: not
        _entry("hotline", "abandoned", 38.4, whole_s=39),
        _entry("hotline", "abandoned", 60.0),
    ]
    figures = service_level(entries, threshold_s=40, short_abandon_s=5)["hotline"]
    assert figures["answered_within"] == 2
    assert figures["answered_within_whole_s"] == 2
    assert figures["perf"] == asterisk_pct(2, 3)
    assert figures["perf2"] == asterisk_pct(3, 5)
    assert figures["sl"] == round(100 * 2 / 5, 1)


def test_short_abandons_do_not_count_for_sl_but_do_for_perf2() -> None:
    entries = [
        _entry("q", "answered", 10),
        _entry("q", "abandoned", 3),
        _entry("q", "abandoned", 5),
        _entry("q", "abandoned", 5.5),
    ]
    figures = service_level(entries, threshold_s=40, short_abandon_s=5)["q"]
    assert figures["abandoned_short"] == 2
    assert figures["sl"] == 50.0  # 1 / (1 answered + 1 abandoned after 5 s)
    assert figures["perf2"] == 100.0
    assert figures["abandon_rate"] == 75.0
    with_zero = service_level(entries, threshold_s=40, short_abandon_s=0)["q"]
    assert with_zero["sl"] == 25.0


def test_per_queue_and_all_asa_longest_buckets() -> None:
    entries = [
        _entry("a", "answered", 2),
        _entry("a", "answered", 16),
        _entry("b", "answered", 130),
        _entry("b", "abandoned", 200),
        _entry("b", "waiting", 0),
    ]
    entries[0] = EntryOutcome("a", "answered", 2, 2, completed=True)
    result = service_level(entries, threshold_s=20)
    assert (result["a"]["completed"], result["all"]["completed"]) == (1, 1)
    assert set(result) == {"a", "b", "all"}
    assert result["a"]["asa_s"] == 9.0
    assert result["all"]["offered"] == 5
    assert result["all"]["answered"] == 3
    assert result["all"]["waiting"] == 1
    assert result["all"]["longest_wait_s"] == 200
    assert result["all"]["answered_within_buckets"]["0-15"] == 1
    assert result["all"]["answered_within_buckets"]["15-30"] == 1
    assert result["all"]["answered_within_buckets"]["120+"] == 1
    assert result["b"]["sl"] == 0.0
    assert service_level([])["all"]["sl"] is None


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="threshold"):
        service_level([], threshold_s=0)
    with pytest.raises(ValueError, match="abandon"):
        service_level([], short_abandon_s=-1)

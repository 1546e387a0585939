"""`format=csv` on the history and the call log: UTF-8 with a BOM, `;` and a decimal comma
by default, the same figures as the JSON, every call of the filter."""

from __future__ import annotations

import csv
import io

import pytest

from tests.conftest import auth
from tests.reports.test_call_log import client, record  # noqa: F401 (the fixture)

pytestmark = pytest.mark.redis
RANGE = {"from": "2026-03-02T12:00:00+03:00", "to": "2026-03-02T14:00:00+03:00"}


def _table(reply, delimiter=";") -> list[dict[str, str]]:
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("text/csv")
    assert reply.content.startswith("\ufeff".encode())
    text = reply.content.decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text), delimiter=delimiter))


async def test_history_csv_has_the_json_figures(client, settings) -> None:  # noqa: F811
    await record(settings)
    params = RANGE | {"interval": "hour"}
    body = (
        await client.get("/api/metrics/service-level", params=params, headers=auth("supervisor"))
    ).json()
    reply = await client.get(
        "/api/metrics/service-level", params=params | {"format": "csv"}, headers=auth("supervisor")
    )
    rows = _table(reply)
    intervals = [r for r in rows if r["period"] == "interval"]
    expected = [
        (s["start"], queue, figures)
        for s in body["series"]
        for queue, figures in s["queues"].items()
    ]
    assert [(r["start"], r["queue"]) for r in intervals] == [(s, q) for s, q, _ in expected]
    for row, (_, _, figures) in zip(intervals, expected, strict=True):
        assert int(row["offered"]) == figures["offered"]
        sl = figures["sl"]
        assert row["sl"] == ("" if sl is None else repr(sl).replace(".", ","))
        assert row["answered_0-15"] == str(figures["answered_within_buckets"]["0-15"])
    totals = {r["queue"]: r for r in rows if r["period"] == "total"}
    assert int(totals["all"]["offered"]) == body["total"]["all"]["offered"]
    comma = await client.get(
        "/api/metrics/service-level",
        params=params | {"format": "csv", "sep": ","},
        headers=auth("supervisor"),
    )
    assert "." in _table(comma, ",")[0]["asa_s"]


async def test_call_log_csv_lists_every_call(client, settings) -> None:  # noqa: F811
    await record(settings)
    reply = await client.get(
        "/api/calls", params={"format": "csv", "limit": 1}, headers=auth("supervisor")
    )
    rows = _table(reply)
    assert [r["linkedid"] for r in rows] == ["1.5", "1.4", "1.3", "1.2", "1.1"]
    transferred = rows[2]
    assert transferred["agents"] == "a1, b7"
    assert transferred["holdtimes_s"] == "31, 4"
    assert transferred["talk_s"] == "120,0"  # the decimal comma
    assert transferred["solved"] == "1" and transferred["score"] == "5"


@pytest.mark.parametrize(
    ("path", "params", "parameter"),
    [
        ("/api/calls", {"format": "xml"}, "format"),
        ("/api/calls", {"format": "csv", "sep": "|"}, "sep"),
        ("/api/calls", {"format": "csv", "cursor": "nonsense"}, "cursor"),
        ("/api/metrics/service-level", {"format": "xls"}, "format"),
        ("/api/metrics/service-level", {"format": "csv", "sep": "|"}, "sep"),
    ],
)
async def test_bad_export_parameters(client, path, params, parameter) -> None:  # noqa: F811
    reply = await client.get(path, params=params, headers=auth("supervisor"))
    assert reply.status_code == 422
    assert reply.json()["detail"][0]["loc"] == ["query", parameter]

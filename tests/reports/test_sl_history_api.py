"""`GET /api/metrics/service-level`: bad input is a 422 naming the parameter; an unknown
queue is an empty result; the OpenAPI schema types the response."""

from __future__ import annotations

import pytest

from tests.conftest import auth

pytestmark = pytest.mark.redis
PATH = "/api/metrics/service-level"
RANGE = {"from": "2026-03-02T00:00:00+03:00", "to": "2026-03-03T00:00:00+03:00"}


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        (RANGE | {"interval": "year"}, "interval"),
        ({"from": RANGE["to"], "to": RANGE["from"]}, "from"),
        ({"from": RANGE["from"], "to": RANGE["from"]}, "from"),
        # 15-minute intervals over a year: 35,040 > 10,000
        (
            {
                "from": "2025-01-01T00:00:00+03:00",
                "to": "2026-01-01T00:00:00+03:00",
                "interval": "15m",
            },
            "interval",
        ),
    ],
)
async def test_bad_input_names_the_parameter(client, params, parameter) -> None:
    reply = await client.get(PATH, params=params, headers=auth("supervisor"))
    assert reply.status_code == 422
    assert reply.json()["detail"][0]["loc"] == ["query", parameter]


async def test_an_unknown_queue_is_an_empty_result(client) -> None:
    reply = await client.get(
        PATH, params=RANGE | {"interval": "hour", "queue": "nowhere"}, headers=auth("supervisor")
    )
    assert reply.status_code == 200
    body = reply.json()
    assert body["queues"] == [] and len(body["series"]) == 24
    assert body["total"]["all"]["offered"] == 0 and body["total"]["all"]["sl"] is None


async def test_openapi_types_the_history(client) -> None:
    spec = (await client.get("/openapi.json")).json()
    answer = spec["paths"][PATH]["get"]["responses"]["200"]["content"]["application/json"]
    assert answer["schema"]["$ref"].endswith("/ServiceLevelHistory")
    figures = spec["components"]["schemas"]["QueueFiguresPublic"]["properties"]
    assert {"sl", "perf", "perf2", "asa_s", "answered_within_buckets"} <= set(figures)


async def test_the_reports_share_their_range_and_format_parameters(client) -> None:
    """One dependency (`crm.report_params`) declares `from`/`to`/`interval` for the history
    and the agent report and `format`/`sep` for those and the call log: the same names,
    types and descriptions in OpenAPI, each endpoint's own default interval and rows."""
    spec = (await client.get("/openapi.json")).json()

    def parameters(path: str) -> dict[str, dict]:
        return {p["name"]: p for p in spec["paths"][path]["get"]["parameters"]}

    history = parameters(PATH)
    agents = parameters("/api/reports/agents")
    calls = parameters("/api/calls")
    assert list(history) == ["queue", "from", "to", "interval", "format", "sep"]
    assert list(agents) == ["from", "to", "interval", "agent", "format", "sep"]
    assert {"from", "to", "format", "sep", "cursor", "limit"} <= set(calls)
    for name in ("from", "to"):
        assert history[name] == agents[name]
        assert history[name]["schema"]["anyOf"][0] == {"type": "string", "format": "date-time"}
    assert (history["interval"]["schema"]["default"], agents["interval"]["schema"]["default"]) == (
        "hour",
        "day",
    )
    assert history["sep"] == agents["sep"] == calls["sep"]
    assert "a row per interval and queue" in history["format"]["description"]
    assert "a row per agent and interval" in agents["format"]["description"]

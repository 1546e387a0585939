"""Hostile input at the API's edge: clear 4xx answers, never a 500, nothing half-stored."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from crm.api import MAX_PAGE
from tests.conftest import auth


@pytest.mark.parametrize(
    ("field", "value", "rule"),
    [
        ("caller_name", "Ива\x00нов", "U+0000"),
        ("summary", "line\x1bescape", "U+001B"),
        ("description", "bell\x07", "U+0007"),
    ],
)
async def test_control_characters_in_a_body_are_422_naming_the_field(
    client: httpx.AsyncClient, field: str, value: str, rule: str
) -> None:
    response = await client.post("/api/tickets", json={field: value}, headers=auth("agent"))
    assert response.status_code == 422, response.text
    [problem] = response.json()["detail"]
    assert problem["loc"][-1] == field
    assert rule in problem["msg"]
    assert (await client.get("/api/tickets", headers=auth("agent"))).json()["total"] == 0


async def test_a_lone_surrogate_is_422_not_500(client: httpx.AsyncClient) -> None:
    # JSON can spell a lone surrogate; UTF-8 (and so the database) cannot hold it.
    body = '{"caller_name": "\\ud800x"}'
    response = await client.post(
        "/api/tickets",
        content=body,
        headers={**auth("agent"), "Content-Type": "application/json"},
    )
    assert response.status_code == 422, response.text
    # pydantic refuses it as "not a valid string"; the answer names the field and can be
    # sent (echoing the input back made the 422 itself fail with a 500)
    assert response.json()["detail"][0]["loc"] == ["body", "caller_name"]


async def test_tabs_and_newlines_are_text(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/tickets",
        json={"description": "first line\n\tsecond line\r\n"},
        headers=auth("agent"),
    )
    assert response.status_code == 201, response.text


async def test_a_nul_in_the_call_context_is_422(client: httpx.AsyncClient) -> None:
    response = await client.put(
        "/api/calls/1795311765.1/context",
        json={"summary": "VAT\x00", "caller_full_name": "Иванов", "org_inn": "7707083893"},
        headers=auth("supervisor"),
    )
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"][-1] == "summary"


@pytest.mark.parametrize(
    ("url", "loc"),
    [
        ("/api/tickets?text=a%00b", ["query", "text"]),
        ("/api/tickets?phone=%01", ["query", "phone"]),
        ("/api/calls/abc%00def", ["path", "linkedid"]),
    ],
)
async def test_control_characters_in_query_and_path_are_422(
    client: httpx.AsyncClient, url: str, loc: list[str]
) -> None:
    response = await client.get(url, headers=auth("supervisor"))
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == loc


async def test_a_page_past_int64_is_422(client: httpx.AsyncClient) -> None:
    too_far = await client.get("/api/tickets?page=99999999999999999999", headers=auth("agent"))
    assert too_far.status_code == 422
    last = await client.get(f"/api/tickets?page={MAX_PAGE}&page_size=200", headers=auth("agent"))
    assert last.status_code == 200, last.text
    assert last.json()["items"] == []


async def test_a_body_over_the_limit_is_413_before_it_is_parsed(
    client: httpx.AsyncClient,
) -> None:
    # 3.5 MB, 200,000 keys: read and parsed, it held the event loop for seconds.
    huge = json.dumps({f"k{i}": "x" * 8 for i in range(200_000)})
    started = time.perf_counter()
    response = await client.post(
        "/api/tickets",
        content=huge,
        headers={**auth("agent"), "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert "1000000 bytes" in response.json()["detail"]
    assert time.perf_counter() - started < 2


async def test_a_chunked_body_over_the_limit_is_413(client: httpx.AsyncClient) -> None:
    async def chunks():  # no Content-Length: the limit is counted as it arrives
        for _ in range(20):
            yield b" " * 100_000

    response = await client.post(
        "/api/tickets",
        content=chunks(),
        headers={**auth("agent"), "Content-Type": "application/json"},
    )
    assert response.status_code == 413


async def test_a_body_under_the_limit_still_works(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/tickets",
        json={"description": "x" * 9_000},
        headers=auth("agent"),
    )
    assert response.status_code == 201, response.text


async def test_the_mail_intake_takes_whole_emails_over_the_api_limit(
    client: httpx.AsyncClient,
) -> None:
    raw = b"From: a@example.ru\r\nSubject: big\r\n\r\n" + b"x" * 2_000_000
    response = await client.post(
        "/api/mail/inbound",
        content=raw,
        headers={**auth("service"), "Content-Type": "message/rfc822"},
    )
    assert response.status_code != 413, response.text

"""Benchmark what people and sessions cost a request.

Prints one JSON object (times in microseconds per request, medians of 5 rounds of
`--requests` each, through the session middleware alone on a trivial ASGI app, so the
figures are the middleware's own cost):
- bare_us: the trivial app with no middleware (the baseline, same run);
- bearer_api_us: a service's `/api/...` call with its bearer token (skips the session);
- anonymous_page_us: a page request with no cookie;
- session_page_us: a page request carrying a signed session cookie (verified, re-signed);
- argon2_hash_ms / argon2_verify_ms: Hotline's password hash (Argon2id, 19 MiB, t=2),
  medians of 5; `argon2_default_hash_ms`: argon2-cffi's default parameters, for scale.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from typing import Any

from argon2 import PasswordHasher

from crm.people.passwords import hash_password, verify_password
from crm.web.session import COOKIE_NAME, SessionCookies

SECRET = "bench-session-secret-0123456789abcdef"


async def trivial(scope: Any, receive: Any, send: Any) -> None:
    if "session" in scope:
        scope["session"].setdefault("csrf", "x" * 43)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


async def per_request_us(app: Any, path: str, headers: list[tuple[bytes, bytes]], n: int) -> float:
    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "headers": headers,
        "scheme": "http",
        "query_string": b"",
        "root_path": "",
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(_message: dict[str, Any]) -> None:
        return None

    rounds = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(n):
            await app(dict(scope), receive, send)
        rounds.append((time.perf_counter() - start) / n * 1e6)
    return round(statistics.median(rounds), 2)


async def session_cookie(app: Any) -> bytes:
    """A signed cookie, as the middleware sets it."""
    captured: list[bytes] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        for name, value in message.get("headers", []):
            if name == b"set-cookie":
                captured.append(value.split(b";", 1)[0])

    scope = {"type": "http", "method": "GET", "path": "/login", "headers": [],
             "scheme": "http", "query_string": b"", "root_path": ""}  # fmt: skip
    await app(scope, receive, send)
    return captured[0]


def median_ms(work: Any, times: int = 5) -> float:
    samples = []
    for _ in range(times):
        start = time.perf_counter()
        work()
        samples.append((time.perf_counter() - start) * 1000)
    return round(statistics.median(samples), 1)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    n = parser.parse_args().requests
    wrapped = SessionCookies(trivial, SECRET, 3600)
    cookie = await session_cookie(wrapped)
    assert cookie.startswith(COOKIE_NAME.encode())
    stored = hash_password("a bench password")
    result = {
        "requests": n,
        "bare_us": await per_request_us(trivial, "/api/tickets", [], n),
        "bearer_api_us": await per_request_us(
            wrapped, "/api/tickets", [(b"authorization", b"Bearer " + b"t" * 32)], n
        ),
        "anonymous_page_us": await per_request_us(wrapped, "/login", [], n),
        "session_page_us": await per_request_us(wrapped, "/desk", [(b"cookie", cookie)], n),
        "argon2_hash_ms": median_ms(lambda: hash_password("a bench password")),
        "argon2_verify_ms": median_ms(lambda: verify_password(stored, "a bench password")),
        "argon2_default_hash_ms": median_ms(lambda: PasswordHasher().hash("x"), times=3),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    asyncio.run(main())

"""What every request meets before a route: a bound on its body, text that can be stored.

A body over `HOTLINE_API_MAX_BODY_BYTES` is answered 413 before it is read in full, so a
client cannot make the process hold (or the event loop parse) megabytes. Query and path
values with a NUL or another control character are refused with 422 naming the parameter
(bodies are checked by their models, `core.text.PlainTextModel`).
"""

from __future__ import annotations

import json

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.text import first_problem, text_problem


class BodyLimit:
    """ASGI middleware: refuse request bodies longer than `max_bytes` with 413 (or the
    limit `larger` gives a path: the mail intake takes whole e-mails)."""

    def __init__(self, app: ASGIApp, max_bytes: int, larger: dict[str, int] | None = None) -> None:
        self.app, self.max_bytes, self.larger = app, max_bytes, larger or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.larger.get(scope["path"], self.max_bytes)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self._refuse(send, limit)
            return
        # The declared length may be absent (chunked) or false: read up to the limit first,
        # then hand the body over in one piece.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([message], receive), send)
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._refuse(send, limit)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        await self.app(scope, _replay([body], receive), send)

    async def _refuse(self, send: Send, limit: int) -> None:
        detail = json.dumps({"detail": f"request body over {limit} bytes"}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(detail)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": detail})


def _replay(first: list[Message], receive: Receive) -> Receive:
    """A `receive` that gives `first` and then what the server gives (a disconnect)."""
    pending = list(first)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed


async def plain_request_text(request: Request) -> None:
    """App-wide dependency: no control character in a query or path value (422)."""
    problems = []
    for where, items in (
        ("query", request.query_params.multi_items()),
        ("path", request.path_params.items()),
    ):
        for name, value in items:
            if isinstance(value, str) and (problem := text_problem(value)):
                problems.append(
                    {"type": "value_error", "loc": (where, name), "msg": problem, "input": None}
                )
    if problems:
        raise RequestValidationError(problems)


def install_edge_error_handlers(app: FastAPI) -> None:
    """422s that can be sent: an input that cannot be encoded is not echoed back."""

    @app.exception_handler(RequestValidationError)
    async def _unprocessable(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if not any(first_problem(error.get("input")) for error in errors):
            return await request_validation_exception_handler(request, exc)
        # A lone surrogate in the echoed input would make the answer itself fail (500).
        cleaned = [
            {**error, "input": None} if first_problem(error.get("input")) else error
            for error in errors
        ]
        return JSONResponse({"detail": jsonable_encoder(cleaned)}, status_code=422)

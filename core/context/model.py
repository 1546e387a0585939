"""The call context: what the next specialist must be told, and the screen pop that tells it."""

from __future__ import annotations

from typing import Any

CONTEXT_KEYS = ("summary", "caller_full_name", "org_inn", "uin")


def context_of(ctx: dict[str, Any]) -> dict[str, str]:
    return {k: str(ctx[k]) for k in CONTEXT_KEYS if ctx.get(k)}


def is_missing(context: dict[str, Any] | None) -> bool:
    """The memo's context: summary, caller's full name, organisation INN (and the UIN)."""
    context = context or {}
    return not all(context.get(k) for k in ("summary", "caller_full_name", "org_inn"))


def screen_pop(linkedid: str, ctx: dict[str, Any], limit: int, **extra: Any) -> dict[str, Any]:
    return {
        "linkedid": linkedid,
        "uin": ctx.get("uin", ""),
        "ticket_id": ctx.get("ticket_id", ""),
        "caller_full_name": ctx.get("caller_full_name", ""),
        "org_inn": ctx.get("org_inn", ""),
        "summary": ctx.get("summary", ""),
        "transfers": ctx.get("count", 0),
        "limit": limit,
        "chain": ctx.get("chain", []),
        **extra,
    }

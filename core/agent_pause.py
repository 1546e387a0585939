"""The pause reasons an agent picks: by code on the phone (*73N), by name on the desk."""

from __future__ import annotations

# Code an agent dials after *73 -> the reason Asterisk keeps (`PausedReason`).
PAUSE_REASONS: dict[str, str] = {
    "1": "break",
    "2": "lunch",
    "3": "training",
    "4": "after-call work",
    "5": "meeting",
}

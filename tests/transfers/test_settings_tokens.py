"""Agent tokens that name their agent, and the transfer settings."""

from __future__ import annotations

import hashlib

import pytest
from pydantic import ValidationError

from core.settings import ApiSettings, TransferSettings, parse_targets, parse_tokens

TOKEN = "agent1-token-0123456789abcdef"


def test_an_agent_token_may_name_its_agent_and_plain_ones_stay_valid() -> None:
    api = ApiSettings(tokens=f"agent/agent1:{TOKEN},agent:plain-agent-token-0123456")
    digest = hashlib.sha256(TOKEN.encode()).digest()
    assert api.token_digests[digest] == "agent"
    assert api.token_agents == {digest: "agent1"}
    assert [role for role, _ in parse_tokens(api.tokens)] == ["agent", "agent"]


@pytest.mark.parametrize("entry", [f"supervisor/boss:{TOKEN}", f"agent/:{TOKEN}"])
def test_only_agent_tokens_name_someone(entry: str) -> None:
    with pytest.raises(ValidationError, match="agent/NAME:token"):
        ApiSettings(tokens=entry)


def test_transfer_targets_are_checked() -> None:
    assert parse_targets("200=agent:agent2, 300=queue:support") == {
        "200": ("agent", "agent2"),
        "300": ("queue", "support"),
    }
    with pytest.raises(ValidationError, match="exten=agent:NAME"):
        TransferSettings(targets="200=agent2")

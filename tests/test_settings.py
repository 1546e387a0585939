"""Settings come from HOTLINE_* variables and .env, with safe defaults and refused placeholders."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.settings import ApiSettings, Settings, parse_tokens


def test_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    for name in (
        "HOTLINE_DATABASE_URL",
        "HOTLINE_REDIS_URL",
        "HOTLINE_REDIS_PREFIX",
        "HOTLINE_UIN_DIGITS",
        "HOTLINE_SL_THRESHOLD_S",
        "HOTLINE_API_TOKENS",
    ):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert settings.db.url.startswith("sqlite+aiosqlite:///")
    assert settings.redis.url == "redis://127.0.0.1:6379/0"
    assert settings.redis.keys.facts == "hotline:facts"
    assert settings.tickets.uin_digits == 8
    assert settings.sl.threshold_s == 40
    assert settings.sl.short_abandon_s == 5
    assert settings.api.token_digests == {}


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTLINE_DATABASE_URL", "postgresql+asyncpg://u@h/db")
    monkeypatch.setenv("HOTLINE_UIN_DIGITS", "10")
    monkeypatch.setenv("HOTLINE_SL_THRESHOLD_S", "20")
    monkeypatch.setenv("HOTLINE_AMI_PORT", "5039")
    monkeypatch.setenv(
        "HOTLINE_API_TOKENS", "supervisor:abcdefghijklmnopq,service:0123456789abcdef"
    )
    settings = Settings()
    assert settings.db.url == "postgresql+asyncpg://u@h/db"
    assert settings.tickets.uin_digits == 10
    assert settings.sl.threshold_s == 20
    assert settings.ami.port == 5039
    assert sorted(settings.api.token_digests.values()) == ["service", "supervisor"]


def test_dotenv_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HOTLINE_REDIS_URL", raising=False)
    (tmp_path / ".env").write_text("HOTLINE_REDIS_URL=redis://10.0.0.5:6380/2\n")
    assert Settings().redis.url == "redis://10.0.0.5:6380/2"


@pytest.mark.parametrize(
    "value, complaint",
    [
        ("admin:abcdefghijklmnopq", "not a role"),
        ("agent", "not a role"),
        ("agent:changeme", "placeholder"),
        ("agent:short", "placeholder or shorter"),
    ],
)
def test_bad_tokens_are_refused(value: str, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        ApiSettings(tokens=value)


def test_token_list_parsing_ignores_blanks() -> None:
    pairs = parse_tokens(" agent:abcdefghijklmnopq , ,service:0123456789abcdef ")
    assert pairs == [("agent", "abcdefghijklmnopq"), ("service", "0123456789abcdef")]


def test_the_redis_prefix_names_every_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTLINE_REDIS_PREFIX", "acme-2")
    keys = Settings().redis.keys
    names = [
        keys.facts,
        keys.dead_letters,
        keys.live_changes,
        keys.live_agent("agent1"),
        keys.call_context,
        keys.agent_events("agent1"),
        keys.uin_stock,
        keys.pending_tickets,
        keys.pending_refused,
        keys.pending_withdrawals,
        keys.withdrawals_refused,
    ]
    assert all(name.startswith("acme-2:") for name in names)
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("prefix", ["", "a:b", "hot*", "with space", "x" * 65, "-lead"])
def test_a_prefix_that_could_nest_or_glob_is_refused(
    monkeypatch: pytest.MonkeyPatch, prefix: str
) -> None:
    monkeypatch.setenv("HOTLINE_REDIS_PREFIX", prefix)
    with pytest.raises(ValueError, match="HOTLINE_REDIS_PREFIX"):
        Settings()

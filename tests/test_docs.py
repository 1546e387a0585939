"""The README documents every setting and names the test command."""

from __future__ import annotations

from core.settings import Settings
from tests.conftest import ROOT


def _env_names() -> list[str]:
    names = []
    for group in Settings.model_fields.values():
        model = group.default_factory  # each group is its own settings class
        prefix = model.model_config["env_prefix"]
        names += [f"{prefix}{field}".upper() for field in model.model_fields]
    return names


def test_every_setting_is_in_the_readme_table() -> None:
    readme = (ROOT / "README.md").read_text()
    missing = [name for name in _env_names() if f"| `{name}` |" not in readme]
    assert missing == []
    assert len(_env_names()) >= 20


def test_readme_names_the_test_command_ci_runs() -> None:
    assert "scripts/test" in (ROOT / "README.md").read_text()
    assert "scripts/test" in (ROOT / ".ci" / "run").read_text()

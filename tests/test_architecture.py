"""The layers hold: `core` imports nothing of ours, components import only `core` (and
`agi` also `ivr`), `hotline` on top is the only place that wires components."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

# package -> its folder, relative to the repository root
PACKAGES = {
    "core": "core",
    "ivr": "ivr",
    "agi": "agi",
    "callqueue": "queue/callqueue",
    "crm": "crm",
    "asterisksim": "asterisksim",
    "hotline": "hotline",
}
ALLOWED = {
    "core": set(),
    "ivr": {"core"},
    "agi": {"core", "ivr"},
    "callqueue": {"core"},
    "crm": {"core"},
    "asterisksim": {"core"},
    "hotline": set(PACKAGES),
}


def imported_packages(source: str) -> list[tuple[int, str]]:
    """(line, top-level package) of every absolute import in `source`, lazy ones included."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module.split(".")[0]))
    return found


def forbidden_imports(package: str, folder: Path, root: Path = ROOT) -> list[str]:
    allowed = ALLOWED[package] | {package}
    wrong = []
    for path in sorted(folder.rglob("*.py")):
        for line, imported in imported_packages(path.read_text()):
            if imported in PACKAGES and imported not in allowed:
                wrong.append(f"{path.relative_to(root)}:{line} imports {imported}")
    return wrong


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_each_package_imports_only_what_its_layer_allows(package: str) -> None:
    assert forbidden_imports(package, ROOT / PACKAGES[package]) == []


def test_the_rule_catches_a_forbidden_import(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text("def f():\n    from crm.models import Ticket\n")
    (tmp_path / "good.py").write_text("from core.facts import CallFact\nimport redis\n")
    wrong = forbidden_imports("callqueue", tmp_path, root=tmp_path)
    assert len(wrong) == 1 and wrong[0].endswith("bad.py:2 imports crm")


def test_every_package_folder_is_listed() -> None:
    """A new top-level package must be given its place in the layers."""
    tops = {
        p.parent.name
        for p in ROOT.glob("*/__init__.py")
        if p.parent.name not in {"tests", "bench", "build"}
    }
    assert tops == set(PACKAGES) - {"callqueue"}


def test_the_cli_loads_no_simulator_and_no_fakeredis() -> None:
    """The production commands never import the simulated Asterisk or fakeredis."""
    code = (
        "import sys, hotline.cli, hotline.bootstrap, hotline.run\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'asterisksim', 'fakeredis'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"

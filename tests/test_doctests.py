"""The examples in the shared core's and the tracker's docstrings run and hold."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import callqueue
import core


def _modules() -> list[str]:
    names = []
    for package in (core, callqueue):
        names += [
            info.name
            for info in pkgutil.walk_packages(package.__path__, prefix=f"{package.__name__}.")
        ]
    return sorted(names)


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), raise_on_error=False)
    assert result.failed == 0


def test_there_are_examples_to_run() -> None:
    attempted = sum(
        doctest.testmod(importlib.import_module(name), raise_on_error=False).attempted
        for name in _modules()
    )
    assert attempted >= 10

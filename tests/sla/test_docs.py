"""The example in `crm.sla`'s docstring runs and gives what it shows."""

from __future__ import annotations

import doctest

import crm.sla


def test_package_docstring_example() -> None:
    result = doctest.testmod(crm.sla, raise_on_error=False)
    assert result.attempted >= 5
    assert result.failed == 0

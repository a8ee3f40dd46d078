"""The dbt tests read the session's tiny warehouse (tests/warehouse.py)."""

from __future__ import annotations

import pytest

from tests.warehouse import CLOCK, PII_SALT, TAP_OVERRIDES, BuiltWarehouse

__all__ = ["CLOCK", "PII_SALT", "TAP_OVERRIDES", "BuiltWarehouse"]


@pytest.fixture(scope="session")
def warehouse(built_warehouse: BuiltWarehouse) -> BuiltWarehouse:
    return built_warehouse

"""The CX metric-mart tests read the session's tiny warehouse (tests/warehouse.py)."""

from __future__ import annotations

import pytest

from tests.warehouse import PII_SALT, TAP_OVERRIDES, BuiltWarehouse

MetricsWarehouse = BuiltWarehouse
__all__ = ["PII_SALT", "TAP_OVERRIDES", "MetricsWarehouse"]


@pytest.fixture(scope="session")
def metrics_warehouse(built_warehouse: BuiltWarehouse) -> BuiltWarehouse:
    return built_warehouse

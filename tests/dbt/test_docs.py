"""`dbt docs generate` documents 100 % of models and of their columns."""

from __future__ import annotations

import json

from cx360.dbt import run_dbt

from .conftest import BuiltWarehouse


def test_every_model_and_column_is_documented(warehouse: BuiltWarehouse) -> None:
    target = warehouse.target / "docs"
    run_dbt(["docs", "generate"], warehouse.path, target_path=target, env=warehouse.env)
    manifest = json.loads((target / "manifest.json").read_text())
    catalog = json.loads((target / "catalog.json").read_text())
    models = {
        unique_id: node
        for unique_id, node in manifest["nodes"].items()
        if node["resource_type"] == "model" and node["package_name"] == "cx360"
    }
    assert len(models) >= 40
    undocumented_models = sorted(
        node["name"] for node in models.values() if not node["description"].strip()
    )
    missing: list[str] = []
    for unique_id, node in models.items():
        built = catalog["nodes"].get(unique_id)
        assert built is not None, f"{node['name']} is not in the catalog"
        documented = {
            name.lower(): column["description"].strip() for name, column in node["columns"].items()
        }
        for column in built["columns"]:
            if not documented.get(column.lower()):
                missing.append(f"{node['name']}.{column}")
        extra = set(documented) - {column.lower() for column in built["columns"]}
        missing.extend(f"{node['name']}.{name} (documented, not built)" for name in extra)
    assert not undocumented_models, f"models without a description: {undocumented_models}"
    assert not missing, f"columns without a description: {missing}"

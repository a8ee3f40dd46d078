"""Quality-gate helpers: volume bounds, offline Data Docs, retention, committed suites."""

from __future__ import annotations

import json
from pathlib import Path

from orchestration.constants import GX_DIR, SOURCE_STREAMS
from orchestration.validation import load_suite_specs, make_offline, prune_runs, volume_bounds


def test_volume_bounds() -> None:
    assert volume_bounds([], "table", allow_empty=False) == (1, None)
    assert volume_bounds([], "table", allow_empty=True) == (0, None)
    # raw tables only grow: never below the last good count, nor far above recent growth
    low, high = volume_bounds([(1_000, None), (900, None), (800, None)], "table", False)
    assert low == 1_000 and high == 1_000 + 1_000
    low, high = volume_bounds([(100_000, None), (90_000, None)], "table", False)
    assert low == 100_000 and high == 200_000
    # rebuilt marts may shrink, not collapse
    assert volume_bounds([(1_000, None)], "table", False, layer="mart") == (500, 3_000)
    # new-row batches: bounded by recent batch sizes
    assert volume_bounds([(5, None), (20_000, None)], "new_rows", True) == (0, 200_000)


def test_committed_suites_cover_every_raw_table() -> None:
    specs = {spec.table: spec for spec in load_suite_specs()}
    for source, streams in SOURCE_STREAMS.items():
        for stream in streams:
            spec = specs[f"raw_{source}.{stream}"]
            assert spec.blocking and spec.layer == "raw"
            assert spec.asset_key == (f"raw_{source}", stream)
    for name in ("marts.dim_customers", "marts.customer_360", "marts.mart_nps_quarterly"):
        assert specs[name].layer == "mart" and specs[name].blocking
    # every suite has its checkpoint and validation definition, nothing uncommitted is needed
    for spec in specs.values():
        assert (GX_DIR / "checkpoints" / f"{spec.name}.json").exists()
        assert (GX_DIR / "validation_definitions" / f"{spec.name}.json").exists()
    nps = json.loads((GX_DIR / "expectations" / "marts__mart_nps_quarterly.json").read_text())
    bounds = [
        e["kwargs"] for e in nps["expectations"]
        if e["type"] == "expect_column_values_to_be_between" and e["kwargs"]["column"] == "nps"
    ]  # fmt: skip
    assert bounds == [{"column": "nps", "min_value": -100.0, "max_value": 100.0}]


def test_make_offline_strips_remote_assets_and_lists_pages(tmp_path: Path) -> None:
    site = tmp_path / "site"
    page = site / "validations" / "suite_a" / "__none__" / "20261101T000000Z" / "batch.html"
    page.parent.mkdir(parents=True)
    remote = (
        '<html><head><link rel="stylesheet" href="https://cdn.example/b.css">'
        '<script src="https://code.jquery.com/jquery.js"></script>'
        '<link rel="shortcut icon" href="../../static/images/favicon.ico" type="image/x-icon"/>'
        "<style>.x{background:url('https://great-expectations-web-assets.s3.amazonaws.com/l.png')}"
        "</style></head><body><script>$(function(){ $('#t').bootstrapTable() })</script>ok</body></html>"
    )
    page.write_text(remote)
    (site / "index.html").write_text(remote)
    make_offline(site)
    for path in (page, site / "index.html"):
        html = path.read_text()
        assert "https://" not in html and "bootstrapTable" not in html
        assert "cx360_offline.css" in html and "ok" in html
    assert (
        "validations/suite_a/__none__/20261101T000000Z/batch.html"
        in (site / "index.html").read_text()
    )


def test_prune_runs_keeps_the_newest(tmp_path: Path) -> None:
    for stamp in ("20261101T000000Z", "20261102T000000Z", "20261103T000000Z"):
        (tmp_path / "suite" / "__none__" / stamp).mkdir(parents=True)
    prune_runs(tmp_path, keep=2)
    kept = sorted(p.name for p in (tmp_path / "suite" / "__none__").iterdir())
    assert kept == ["20261102T000000Z", "20261103T000000Z"]

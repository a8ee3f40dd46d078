"""The runner's handling of BATCH files: where the taps write them, and their removal once
the loader committed them."""

from __future__ import annotations

import json
from pathlib import Path

from cx360.extract import FLUSH_ROWS, SOURCES, _delete_batch_files, tap_config


def test_batch_taps_write_to_the_run_folder_uncompressed(tmp_path: Path) -> None:
    for name in ("zendesk", "amplitude"):
        config = tap_config(SOURCES[name], "http://x", None, tmp_path)
        assert config == {
            "base_url": "http://x",
            "batch_dir": str(tmp_path),
            "batch_compresslevel": 0,
            "batch_size_rows": FLUSH_ROWS,  # whole DuckDB row groups per loader commit
        }
    assert FLUSH_ROWS % 122_880 == 0
    # a tap without BATCH support gets no settings it does not declare
    assert tap_config(SOURCES["salesforce"], "http://x", None, tmp_path) == {"base_url": "http://x"}
    # explicit settings win
    overrides = {"batch_dir": "/elsewhere", "batch_compresslevel": 6, "batch_size_rows": 10}
    assert tap_config(SOURCES["zendesk"], "http://x", overrides, tmp_path) == {
        "base_url": "http://x",
        **overrides,
    }


def test_committed_batch_files_are_deleted(tmp_path: Path) -> None:
    files = [tmp_path / "a b.jsonl.gz", tmp_path / "c.jsonl.gz"]
    for path in files:
        path.write_bytes(b"")
    keep = tmp_path / "keep.jsonl.gz"
    keep.write_bytes(b"")
    message = {
        "type": "BATCH",
        "stream": "events",
        "encoding": {"format": "jsonl", "compression": "gzip"},
        "manifest": [path.as_uri() for path in files],
    }
    _delete_batch_files(json.dumps(message).encode())
    assert not any(path.exists() for path in files)
    # other messages, and lines that are not JSON, leave files alone
    _delete_batch_files(json.dumps({"type": "STATE", "value": {"x": keep.as_uri()}}).encode())
    _delete_batch_files(b'{"type":"BATCH", truncated')
    assert keep.exists()

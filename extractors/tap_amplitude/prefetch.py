"""Moved to :mod:`cx360_singer.prefetch` (Zendesk's BATCH mode uses it too)."""

from cx360_singer.prefetch import prefetched

__all__ = ["prefetched"]

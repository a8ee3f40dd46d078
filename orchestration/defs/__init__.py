"""Definitions split by concern, merged in :mod:`orchestration.definitions`."""

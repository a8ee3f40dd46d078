"""cx360 on Dagster: assets per tap stream, dbt models, GX quality gates, publishing.

Definitions live in :mod:`orchestration.definitions` (``dagster dev -m orchestration.definitions``);
the one-command main job is :func:`orchestration.jobs.run_main_job`.
"""

"""Resources: the warehouse, the workspace (artefact paths, reference "now"), source APIs, dbt.

Secrets and endpoints come from environment variables through ``EnvVar`` (resolved at run
time, never stored in run config); the sandbox is just another set of values (see
:func:`sandbox_environment`). Paths default to the CLI's (relative to the working directory).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

import duckdb
from dagster import ConfigurableResource, EnvVar

from cx360.extract import SOURCES, MissingEnvironmentError
from orchestration.constants import DEFAULT_DATA_DIR, SOURCE_STREAMS

PII_SALT = "CX360_PII_SALT"
SANDBOX_PII_SALT = "cx360-sandbox-pii-salt"
"""Only for the sandbox's synthetic people; real runs must set their own secret salt."""


class WarehouseResource(ConfigurableResource):
    """The DuckDB warehouse. Connections are short-lived: DuckDB takes an exclusive file lock
    per process, and the dbt subprocess needs the file while dbt runs. Every connection in a
    process uses the same (default) connect arguments, as DuckDB requires."""

    path: str

    @contextlib.contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(self.path)
        try:
            yield con
        finally:
            con.close()


class WorkspaceResource(ConfigurableResource):
    """Where artefacts go, and the reference "now" for the quality gates.

    ``now`` is an ISO-8601 instant. Against the sandbox it is the sandbox's simulated clock
    (its data lives in late 2026); against real APIs leave it unset to use the wall clock.
    """

    data_dir: str = str(DEFAULT_DATA_DIR)
    now: str | None = None

    @property
    def root(self) -> Path:
        return Path(self.data_dir)

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"

    @property
    def reports_dir(self) -> Path:
        return self.root / "reports"

    @property
    def bi_dir(self) -> Path:
        return self.root / "bi"

    @property
    def quality_dir(self) -> Path:
        return self.root / "quality"

    def reference_now(self) -> datetime:
        if self.now:
            value = datetime.fromisoformat(self.now.replace("Z", "+00:00"))
            return value if value.tzinfo else value.replace(tzinfo=UTC)
        return datetime.now(UTC)


class SourceApiResource(ConfigurableResource):
    """One vendor API (or the sandbox's imitation of it): base URL and credentials."""

    SOURCE: ClassVar[str] = ""
    CREDENTIALS: ClassVar[dict[str, str]] = {}
    """Environment variable → field name (required)."""
    OPTIONAL: ClassVar[dict[str, str]] = {}
    """Environment variable → field name (passed on when set)."""

    base_url: str | None = None

    def missing_variables(self) -> list[str]:
        source = SOURCES[self.SOURCE]
        missing = [var for var, attr in self.CREDENTIALS.items() if not getattr(self, attr)]
        if not (self.base_url or source.default_base_url):
            missing.append(source.base_url_variable)
        return missing

    def resolved_base_url(self) -> str:
        return self.base_url or SOURCES[self.SOURCE].default_base_url

    def tap_environment(self) -> dict[str, str]:
        """The tap subprocess's environment: ours plus this API's credentials."""
        missing = self.missing_variables()
        if missing:
            raise MissingEnvironmentError("missing environment variables: " + ", ".join(missing))
        env = dict(os.environ)
        env.update({var: getattr(self, attr) for var, attr in self.CREDENTIALS.items()})
        env.update({var: getattr(self, a) for var, a in self.OPTIONAL.items() if getattr(self, a)})
        return env


class SalesforceApi(SourceApiResource):
    SOURCE: ClassVar[str] = "salesforce"
    CREDENTIALS: ClassVar[dict[str, str]] = {
        "SALESFORCE_CLIENT_ID": "client_id",
        "SALESFORCE_CLIENT_SECRET": "client_secret",
        "SALESFORCE_REFRESH_TOKEN": "refresh_token",
    }
    client_id: str | None = None
    client_secret: str | None = None
    refresh_token: str | None = None


class ZendeskApi(SourceApiResource):
    SOURCE: ClassVar[str] = "zendesk"
    CREDENTIALS: ClassVar[dict[str, str]] = {
        "ZENDESK_EMAIL": "email",
        "ZENDESK_API_TOKEN": "api_token",
    }
    OPTIONAL: ClassVar[dict[str, str]] = {PII_SALT: "pii_salt"}
    email: str | None = None
    api_token: str | None = None
    pii_salt: str | None = None
    """Only needed when tap-zendesk hashes comment bodies."""


class QualtricsApi(SourceApiResource):
    SOURCE: ClassVar[str] = "qualtrics"
    CREDENTIALS: ClassVar[dict[str, str]] = {"QUALTRICS_API_TOKEN": "api_token"}
    api_token: str | None = None


class DelightedApi(SourceApiResource):
    SOURCE: ClassVar[str] = "delighted"
    CREDENTIALS: ClassVar[dict[str, str]] = {"DELIGHTED_API_KEY": "api_key"}
    api_key: str | None = None


class AmplitudeApi(SourceApiResource):
    SOURCE: ClassVar[str] = "amplitude"
    CREDENTIALS: ClassVar[dict[str, str]] = {
        "AMPLITUDE_API_KEY": "api_key",
        "AMPLITUDE_SECRET_KEY": "secret_key",
        PII_SALT: "pii_salt",
    }
    api_key: str | None = None
    secret_key: str | None = None
    pii_salt: str | None = None
    """tap-amplitude hashes user emails with this salt (keep it stable across runs)."""


API_RESOURCES: dict[str, type[SourceApiResource]] = {
    cls.SOURCE: cls for cls in (SalesforceApi, ZendeskApi, QualtricsApi, DelightedApi, AmplitudeApi)
}
assert set(API_RESOURCES) == set(SOURCE_STREAMS) == set(SOURCES)


def api_resource_key(source: str) -> str:
    return f"{source}_api"


def _env_or(variable: str, default: str | None, env: Mapping[str, str]) -> str | EnvVar | None:
    """An EnvVar when the variable is set (resolved at run time), else the default."""
    return EnvVar(variable) if env.get(variable) else default


def build_api_resource(source: str, env: Mapping[str, str] | None = None) -> SourceApiResource:
    env = os.environ if env is None else env
    cls = API_RESOURCES[source]
    variables = {**cls.CREDENTIALS, **cls.OPTIONAL}
    fields = {attr: _env_or(var, None, env) for var, attr in variables.items()}
    fields["base_url"] = _env_or(SOURCES[source].base_url_variable, None, env)
    return cls(**fields)


def build_resources(env: Mapping[str, str] | None = None) -> dict[str, object]:
    """Every resource except dbt's (see :mod:`orchestration.defs.dbt`)."""
    env = os.environ if env is None else env
    data_dir = _env_or("CX360_DATA_DIR", str(DEFAULT_DATA_DIR), env)
    warehouse = _env_or("CX360_WAREHOUSE", str(DEFAULT_DATA_DIR / "warehouse.duckdb"), env)
    resources: dict[str, object] = {
        "warehouse": WarehouseResource(path=warehouse),
        "workspace": WorkspaceResource(data_dir=data_dir, now=_env_or("CX360_NOW", None, env)),
    }
    for source in SOURCE_STREAMS:
        resources[api_resource_key(source)] = build_api_resource(source, env)
    return resources


def missing_environment(
    sources: list[str] | None = None, env: Mapping[str, str] | None = None
) -> list[str]:
    """Every variable the given sources (default: all) need and the environment lacks."""
    env = os.environ if env is None else env
    missing: list[str] = []
    for source in sources or list(SOURCE_STREAMS):
        spec = SOURCES[source]
        required = [*spec.credentials, *API_RESOURCES[source].CREDENTIALS]
        missing += [var for var in required if not env.get(var)]
        if not (env.get(spec.base_url_variable) or spec.default_base_url):
            missing.append(spec.base_url_variable)
    return list(dict.fromkeys(missing))


def sandbox_environment(sandbox_url: str, now: str | None = None) -> dict[str, str]:
    """The variables that point every source at a running sandbox ("just another set of values")."""
    from cx360_sandbox.server.credentials import sandbox_credentials

    env = dict(sandbox_credentials())
    env.setdefault(PII_SALT, os.environ.get(PII_SALT) or SANDBOX_PII_SALT)
    for source in SOURCE_STREAMS:
        spec = SOURCES[source]
        env[spec.base_url_variable] = sandbox_url + spec.sandbox_path
    if now:
        env["CX360_NOW"] = now
    return env

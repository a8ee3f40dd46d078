"""Salesforce REST plumbing: OAuth session, retries, error mapping, SOQL paging.

Why not the SDK's paginator loop: Salesforce paging has three behaviours the generic loop
cannot express — a query locator can go stale mid-query (restart from the last bookmark),
the access token can expire mid-query (refresh once, same request again), and a resumable
state must be emitted after every page so a crash re-reads at most one page. The requests
themselves still go through the SDK's `request_decorator`/`_request`/`validate_response`
hooks, so the project-wide retry policy of `cx360_singer` applies unchanged (429/5xx,
drops, truncated bodies, `Retry-After`, `max_retry_seconds`, one `refresh_auth()` on 401).
"""

from __future__ import annotations

import json
import threading
import typing as t
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from importlib import resources
from urllib.parse import urlparse

import requests
from cx360_singer import (
    CX360RESTStream,
    MissingCredentialsError,
    RetryBudgetExceededError,
    normalize_utc,
    parse_instant,
    redact,
    require_env,
    response_json,
    send_with_retries,
)
from cx360_singer.timeutil import normalize_utc_or_keep
from singer_sdk.exceptions import FatalAPIError, InvalidStreamSortException, RetriableAPIError

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Context
    from singer_sdk.tap_base import Tap

API_VERSION = "v61.0"
DEFAULT_LOGIN_URL = "https://login.salesforce.com"
CREDENTIAL_VARS = (
    "SALESFORCE_CLIENT_ID",
    "SALESFORCE_CLIENT_SECRET",
    "SALESFORCE_REFRESH_TOKEN",
)
DELETED_AT = "_sdc_deleted_at"
"""Set to `SystemModstamp` on soft-deleted rows; the loader turns it into `_deleted_at`."""

DEFAULT_START_DATE = "2023-01-01T00:00:00Z"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MIN_PAGE_SIZE, MAX_PAGE_SIZE = 200, 2000
MAX_LOCATOR_RESTARTS = 3
"""Restarts allowed in a row without the bookmark moving forward before giving up."""
AUTH_HINT = "check SALESFORCE_CLIENT_ID, SALESFORCE_CLIENT_SECRET and SALESFORCE_REFRESH_TOKEN"


# -- small helpers -----------------------------------------------------------------------


def parse_datetime(value: str) -> datetime:
    """Any ISO-8601 instant (Salesforce's `+0000` offsets included) as aware UTC."""
    moment = parse_instant(value)
    if moment is None:
        raise ValueError("empty timestamp")
    return moment


def soql_datetime(moment: datetime) -> str:
    """SOQL datetime literal (unquoted), floored to the second.

    Flooring only ever widens a `>=` filter, so it can re-read rows but never skip one.
    """
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def floor_second(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)


def read_credentials() -> dict[str, str]:
    """Credentials come from the environment only; one error names every missing one."""
    return require_env(CREDENTIAL_VARS, "tap-salesforce")


def credentials_available() -> bool:
    try:
        read_credentials()
    except MissingCredentialsError:
        return False
    return True


# -- errors -----------------------------------------------------------------------------


class SalesforceAPIError(FatalAPIError):
    """A Salesforce error that retrying cannot fix (bad query, bad field, bad grant)."""


class DailyApiLimitExceededError(SalesforceAPIError):
    """403 REQUEST_LIMIT_EXCEEDED (TotalRequests): the org's rolling 24 h quota is spent.

    Fatal for the run — every further call would fail the same way — but not for the data:
    a STATE message was emitted after the last complete page, so the next run resumes.
    """


class QueryLocatorExpiredError(SalesforceAPIError):
    """400 INVALID_QUERY_LOCATOR: the server forgot the cursor; re-query from the bookmark."""


def _salesforce_errors(response: requests.Response) -> tuple[str, str]:
    """(errorCode, message) of a Salesforce or OAuth error body, tolerating odd bodies."""
    try:
        body = response.json()
    except ValueError:
        return "", response.text[:200]
    if isinstance(body, list) and body and isinstance(body[0], dict):
        return str(body[0].get("errorCode", "")), str(body[0].get("message", ""))
    if isinstance(body, dict):
        if "error" in body:  # OAuth endpoint shape
            return str(body["error"]), str(body.get("error_description", ""))
        return str(body.get("errorCode", "")), str(body.get("message", ""))
    return "", str(body)[:200]


def describe_error(response: requests.Response) -> str:
    """`Salesforce 400 INVALID_FIELD: No such column … (GET /services/…/query)`.

    Only the method and URL path are quoted: never headers (the bearer token) and never
    the query string (it can be long, and on the token endpoint the body holds secrets).
    """
    code, message = _salesforce_errors(response)
    method = response.request.method if response.request is not None else "GET"
    path = urlparse(response.url).path
    detail = redact(f"{code}: {message}" if code else message)
    return f"Salesforce {response.status_code} {detail} ({method} {path})"


# -- OAuth session ------------------------------------------------------------------------


class SalesforceSession(requests.auth.AuthBase):
    """The access token and instance URL, shared by every stream of one tap run.

    The token response has no `expires_in`, so the token is used until a request answers
    401 INVALID_SESSION_ID; then one refresh replaces it for every stream. Data calls go to
    the `instance_url` the token response names, never to the login URL.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._access_token: str | None = None
        self._instance_url: str | None = None
        self.quota_warned = False

    def __repr__(self) -> str:  # never leak the token through a log line
        return f"SalesforceSession(instance_url={self._instance_url!r})"

    @property
    def access_token(self) -> str | None:
        return self._access_token

    @property
    def instance_url(self) -> str:
        if self._instance_url is None:
            raise RuntimeError("Salesforce session used before authenticating")
        return self._instance_url

    def ensure(self, fetch: Callable[[], Mapping[str, t.Any]]) -> None:
        if self._access_token is None:
            with self._lock:
                if self._access_token is None:
                    self._store(fetch())

    def refresh(self, stale_token: str | None, fetch: Callable[[], Mapping[str, t.Any]]) -> None:
        """Replace the token unless another caller already replaced `stale_token`."""
        with self._lock:
            if self._access_token == stale_token:
                self._store(fetch())

    def _store(self, payload: Mapping[str, t.Any]) -> None:
        token, instance = payload.get("access_token"), payload.get("instance_url")
        if not token or not instance:
            raise SalesforceAPIError("Salesforce token response lacks access_token or instance_url")
        self._access_token = str(token)
        self._instance_url = str(instance).rstrip("/")

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if self._access_token is None:
            raise RuntimeError("Salesforce session used before authenticating")
        request.headers["Authorization"] = f"Bearer {self._access_token}"
        return request


# -- describe → JSON schema -------------------------------------------------------------------

_STRING_TYPES = {
    "id",
    "string",
    "reference",
    "picklist",
    "multipicklist",
    "combobox",
    "textarea",
    "email",
    "phone",
    "url",
    "encryptedstring",
    "anytype",
}
_SKIPPED_TYPES = {"base64"}
"""REST answers base64 fields with a blob URL, not the content: nothing useful to store."""


def field_schema(field: Mapping[str, t.Any]) -> dict[str, t.Any] | None:
    """JSON schema of one described field, or None for fields the tap leaves out."""
    sf_type = str(field.get("type", "string")).lower()
    schema: dict[str, t.Any]
    if sf_type in _SKIPPED_TYPES:
        return None
    if sf_type == "boolean":
        schema = {"type": "boolean"}
    elif sf_type in ("int", "long"):
        schema = {"type": "integer"}
    elif sf_type in ("double", "percent"):
        schema = {"type": "number"}
    elif sf_type == "currency":
        schema = {"type": "number", "multipleOf": 0.01}
    elif sf_type == "date":
        schema = {"type": "string", "format": "date"}
    elif sf_type == "datetime":
        schema = {"type": "string", "format": "date-time"}
    elif sf_type == "time":
        schema = {"type": "string", "format": "time"}
    elif sf_type in ("address", "location"):
        schema = {"type": "object"}  # compound fields stay objects (→ JSON columns)
    else:  # _STRING_TYPES and anything new: text is the lossless choice
        schema = {"type": "string"}
    if field.get("nillable", True):
        schema["type"] = [schema["type"], "null"]
    return schema


def schema_from_describe(describe: Mapping[str, t.Any]) -> dict[str, t.Any]:
    """Stream schema from `/sobjects/{Object}/describe`: every field, in describe order.

    Built at discovery, so a field added in the org appears as a new property (schema
    drift) without a release of the tap.
    """
    properties: dict[str, t.Any] = {}
    for field in describe.get("fields", []):
        schema = field_schema(field)
        if schema is not None:
            properties[str(field["name"])] = schema
    for required in ("Id", "SystemModstamp"):
        if required not in properties:
            raise SalesforceAPIError(
                f"{describe.get('name', '?')} describe has no {required} field: "
                "cannot replicate it incrementally"
            )
    properties[DELETED_AT] = {"type": ["string", "null"], "format": "date-time"}
    return {"type": "object", "additionalProperties": False, "properties": properties}


def bundled_schema(stream_name: str) -> dict[str, t.Any]:
    """The schema shipped in `schemas/`: the reference org's fields at release time."""
    text = resources.files(__package__).joinpath("schemas", f"{stream_name}.json").read_text()
    return json.loads(text)


# -- the stream base ----------------------------------------------------------------------


class SalesforceStream(CX360RESTStream):
    """One SOQL-queryable sObject, replicated incrementally on `SystemModstamp`."""

    sobject: t.ClassVar[str]
    soft_deletable: t.ClassVar[bool] = True
    """Has `IsDeleted`: read with `queryAll` so deletes and merges are captured."""
    applies_start_date: t.ClassVar[bool] = True
    """False for small reference objects whose unchanged rows are still needed."""

    primary_keys: t.ClassVar[list[str]] = ["Id"]  # type: ignore[misc]
    replication_key = "SystemModstamp"
    is_sorted = True
    # The SDK's sort check compares each record with the bookmark it started from; the
    # lookback window deliberately re-reads rows older than that bookmark, so the check
    # is done per query in `_query` instead.
    check_sorted = False
    records_jsonpath = "$.records[*]"
    auth_error_hint = AUTH_HINT

    def __init__(self, tap: Tap, session: SalesforceSession) -> None:
        self._session = session
        self._described_schema: dict[str, t.Any] | None = None
        self._datetime_fields: list[str] | None = None
        self._last_modstamp: datetime | None = None
        super().__init__(tap=tap)

    # -- identity ---------------------------------------------------------------------------
    @property
    def path(self) -> str:  # type: ignore[override]
        endpoint = "queryAll" if self.soft_deletable else "query"
        return f"/services/data/{API_VERSION}/{endpoint}"

    @property
    def url_base(self) -> str:
        self._session.ensure(self._fetch_token)
        return self._session.instance_url

    @property
    def authenticator(self) -> SalesforceSession:
        return self._session

    @property
    def schema(self) -> dict:
        """Described at first use (discovery); the bundled schema only without credentials."""
        if self._described_schema is None:
            self._described_schema = self._discover_schema()
        return self._described_schema

    def _discover_schema(self) -> dict[str, t.Any]:
        if not credentials_available():
            self.logger.warning(
                "No Salesforce credentials in the environment: using the bundled schema for "
                "'%s' instead of describing %s",
                self.name,
                self.sobject,
            )
            return bundled_schema(self.name)
        describe = self._get_json(f"/services/data/{API_VERSION}/sobjects/{self.sobject}/describe")
        return schema_from_describe(describe)

    def get_replication_key_signpost(self, context: Context | None = None) -> None:
        """No signpost: the SDK's is the local wall clock, and the bookmark is data-driven."""
        return None

    # -- HTTP ---------------------------------------------------------------------------------
    @property
    def page_size(self) -> int:
        size = int(self.config.get("page_size", MAX_PAGE_SIZE))
        return max(MIN_PAGE_SIZE, min(MAX_PAGE_SIZE, size))

    def validate_response(self, response: requests.Response) -> None:
        """Salesforce error codes on top of the shared mapping (401/429/5xx/bad JSON)."""
        status = response.status_code
        if status < 400 or status in (401, 429) or status >= 500:
            super().validate_response(response)
            if status < 400:
                self._watch_quota(response)
            return
        message = describe_error(response)
        code, text = _salesforce_errors(response)
        if status == 403 and code == "REQUEST_LIMIT_EXCEEDED":
            if "ConcurrentPerOrgLongTxn" in text:  # concurrency, not the daily quota
                raise RetriableAPIError(message, response)
            raise DailyApiLimitExceededError(message)
        if status == 400 and code == "INVALID_QUERY_LOCATOR":
            raise QueryLocatorExpiredError(message)
        raise SalesforceAPIError(message)

    def refresh_auth(self, response: requests.Response) -> bool:
        """401 INVALID_SESSION_ID: fetch a new access token (once per request)."""
        sent = response.request.headers.get("Authorization", "") if response.request else ""
        self.logger.info("Salesforce session expired: refreshing the access token")
        self._session.refresh(sent.removeprefix("Bearer ") or None, self._fetch_token)
        return True

    def _watch_quota(self, response: requests.Response) -> None:
        """Warn once when the org has used 90 % of its daily API requests."""
        info = response.headers.get("Sforce-Limit-Info", "")
        if self._session.quota_warned or "api-usage=" not in info:
            return
        try:
            used, limit = (int(x) for x in info.split("api-usage=")[1].split(",")[0].split("/"))
        except ValueError:
            return
        if limit and used >= 0.9 * limit:
            self._session.quota_warned = True
            self.logger.warning("Salesforce daily API usage is at %d of %d requests", used, limit)

    def _fetch_token(self) -> Mapping[str, t.Any]:
        """OAuth2 refresh-token grant against the login URL, with the shared retry policy."""
        credentials = read_credentials()
        login_url = str(self.config.get("base_url") or DEFAULT_LOGIN_URL).rstrip("/")
        request = requests.Request(
            "POST",
            f"{login_url}/services/oauth2/token",
            data={
                "grant_type": "refresh_token",
                "client_id": credentials["SALESFORCE_CLIENT_ID"],
                "client_secret": credentials["SALESFORCE_CLIENT_SECRET"],
                "refresh_token": credentials["SALESFORCE_REFRESH_TOKEN"],
            },
            headers={"User-Agent": self.user_agent, "Accept": "application/json"},
        )
        try:
            response = send_with_retries(
                self.requests_session,
                request,
                timeout=self.timeout,
                max_retry_seconds=self.max_retry_seconds,
                logger=self.logger,
            )
        except RetryBudgetExceededError:
            raise
        except FatalAPIError as error:  # 400 invalid_grant / invalid_client …
            raise SalesforceAPIError(
                f"Salesforce OAuth token request failed: {error}; {AUTH_HINT}"
            ) from None
        return response_json(response)

    def _get_json(
        self,
        path_or_url: str,
        params: dict[str, t.Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, t.Any]:
        """GET a path of the instance (or a full URL) with retries, refresh and error mapping."""
        self._session.ensure(self._fetch_token)
        url = path_or_url
        if path_or_url.startswith("/"):
            url = self._session.instance_url + path_or_url
        request = self.build_prepared_request(
            method="GET",
            url=url,
            params=params or {},
            headers={"Accept": "application/json", **(headers or {})},
        )
        response = self.request_decorator(self._request)(request, self.context)
        return response_json(response)

    # -- SOQL -----------------------------------------------------------------------------------
    def query_fields(self) -> list[str]:
        """Every described field that is selected (the keys and `IsDeleted` always)."""
        always = {"Id", "SystemModstamp"} | ({"IsDeleted"} if self.soft_deletable else set())
        return [
            name
            for name in self.schema["properties"]
            if name != DELETED_AT and (name in always or self.mask.get(("properties", name), True))
        ]

    def build_soql(self, start: datetime) -> str:
        """`>=`, never `>`: rows sharing the bookmark's SystemModstamp must be re-read."""
        return (
            f"SELECT {', '.join(self.query_fields())} FROM {self.sobject} "
            f"WHERE SystemModstamp >= {soql_datetime(start)} ORDER BY SystemModstamp ASC"
        )

    def query_start(self, context: Context | None) -> datetime:
        """Bookmark minus the lookback window (late-committed rows), else start_date.

        Streams with `applies_start_date = False` read their full history on the first
        sync and are never clamped to start_date.
        """
        floor = EPOCH
        if self.applies_start_date:
            floor = parse_datetime(str(self.config.get("start_date", DEFAULT_START_DATE)))
        bookmark = self.stream_state.get("replication_key_value")
        if bookmark is None:
            return floor_second(floor)
        lookback = timedelta(seconds=int(self.config.get("lookback_seconds", 300)))
        return floor_second(max(parse_datetime(str(bookmark)) - lookback, floor))

    def get_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
        start = self.query_start(context)
        stalled = 0
        while True:
            self._last_modstamp = None
            try:
                yield from self._query(start)
                return
            except QueryLocatorExpiredError as error:
                resume = self._last_modstamp and floor_second(self._last_modstamp)
                if resume is not None and resume > start:
                    stalled = 0
                    start = resume
                else:
                    stalled += 1
                    if stalled > MAX_LOCATOR_RESTARTS:
                        raise SalesforceAPIError(
                            f"{error} — the query locator keeps expiring before the "
                            f"bookmark of '{self.name}' can move past {soql_datetime(start)}"
                        ) from error
                self.logger.warning(
                    "Query locator expired for '%s': re-querying from SystemModstamp >= %s",
                    self.name,
                    soql_datetime(start),
                )
            except DailyApiLimitExceededError as error:
                raise DailyApiLimitExceededError(
                    f"{error} while syncing '{self.name}': the org's daily API request quota "
                    "is spent. STATE up to the last complete page has been emitted; rerun "
                    "once the rolling 24-hour quota allows and the sync resumes from there."
                ) from error

    def _query(self, start: datetime) -> Iterator[dict[str, t.Any]]:
        """Run one SOQL query to its end, following `nextRecordsUrl`."""
        headers = {"Sforce-Query-Options": f"batchSize={self.page_size}"}
        payload = self._get_json(self.path, params={"q": self.build_soql(start)}, headers=headers)
        previous: datetime | None = None
        while True:
            for record in payload.get("records", []):
                modstamp = parse_datetime(record["SystemModstamp"])
                if previous is not None and modstamp < previous:
                    raise InvalidStreamSortException(
                        f"{self.sobject} rows are not ordered by SystemModstamp: "
                        f"{record['SystemModstamp']} after {normalize_utc(previous)}"
                    )
                previous = self._last_modstamp = modstamp
                yield record
            # Resumed only after the page's last record was written and bookmarked.
            self._checkpoint()
            next_url = payload.get("nextRecordsUrl")
            if payload.get("done", True) or not next_url:
                return
            payload = self._get_json(next_url, headers=headers)

    def _checkpoint(self) -> None:
        """Emit STATE after each page, so a crash re-reads at most one page.

        Not in BATCH mode: there, records reach the target only with the batch file, and
        the SDK emits state after each batch message itself.
        """
        if self.get_batch_config(self.config) is None:
            self._write_state_message()

    # -- records ------------------------------------------------------------------------------------
    def post_process(
        self, row: dict[str, t.Any], context: Context | None = None
    ) -> dict[str, t.Any] | None:
        row.pop("attributes", None)
        if self._datetime_fields is None:
            self._datetime_fields = [
                name
                for name, schema in self.schema["properties"].items()
                if schema.get("format") == "date-time" and name != DELETED_AT
            ]
        for name in self._datetime_fields:  # SystemModstamp was parsed strictly in _query
            value = row.get(name)
            if isinstance(value, str) and value:
                row[name] = normalize_utc_or_keep(value)  # malformed: the loader quarantines
        deleted = self.soft_deletable and bool(row.get("IsDeleted"))
        row[DELETED_AT] = row["SystemModstamp"] if deleted else None
        return row

"""Delighted API v1 base stream: HTTP Basic with the API key, bare JSON-array answers."""

from __future__ import annotations

from cx360_singer import CX360RESTStream, require_env
from requests.auth import HTTPBasicAuth
from singer_sdk.helpers.types import Context

DEFAULT_BASE_URL = "https://api.delighted.com/v1"
KEY_ENV = "DELIGHTED_API_KEY"


class DelightedStream(CX360RESTStream):
    """Shared settings of every Delighted stream."""

    records_jsonpath = "$[*]"
    auth_error_hint = f"check {KEY_ENV}"

    @property
    def url_base(self) -> str:
        return str(self.config.get("base_url") or DEFAULT_BASE_URL).rstrip("/")

    @property
    def page_size(self) -> int:
        """Delighted caps `per_page` at 100."""
        return max(1, min(100, int(self.config.get("page_size", 100))))

    @property
    def authenticator(self) -> HTTPBasicAuth:
        """The API key is the Basic user name, with an empty password; env only."""
        return HTTPBasicAuth(require_env([KEY_ENV], "tap-delighted")[KEY_ENV], "")

    def get_replication_key_signpost(self, context: Context | None = None) -> None:
        """No signpost: singer-sdk would take it from the local clock, not the source's."""
        return None

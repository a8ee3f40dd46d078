"""Qualtrics API v3 base stream: base URL per data centre, token header, `nextPage` paging."""

from __future__ import annotations

from typing import Any

import requests
from cx360_singer import CX360RESTStream, require_env, response_json
from singer_sdk.helpers.types import Context
from singer_sdk.pagination import BaseAPIPaginator, BaseHATEOASPaginator
from singer_sdk.streams.rest import HTTPRequest, PageContext

DEFAULT_BASE_URL = "https://{datacenter}.qualtrics.com/API/v3"
TOKEN_ENV = "QUALTRICS_API_TOKEN"


class NextPageUrlPaginator(BaseHATEOASPaginator):
    """Qualtrics list endpoints answer `result.nextPage`: the full URL of the next page."""

    def get_next_url(self, response: requests.Response) -> str | None:
        return (response_json(response).get("result") or {}).get("nextPage")


class QualtricsStream(CX360RESTStream):
    """Shared settings of every Qualtrics stream."""

    records_jsonpath = "$.result.elements[*]"
    auth_error_hint = f"check {TOKEN_ENV}"

    @property
    def url_base(self) -> str:
        """`base_url`, with `{datacenter}` filled from config (the real API is per data centre)."""
        base = str(self.config.get("base_url") or DEFAULT_BASE_URL).rstrip("/")
        if "{datacenter}" in base:
            datacenter = self.config.get("datacenter")
            if not datacenter:
                raise ValueError(
                    "tap-qualtrics: set config 'datacenter' (e.g. 'iad1') or a full 'base_url'"
                )
            base = base.replace("{datacenter}", str(datacenter))
        return base

    @property
    def http_headers(self) -> dict[str, str]:
        """The API token goes in `X-API-TOKEN`; it is read from the environment only."""
        token = require_env([TOKEN_ENV], "tap-qualtrics")[TOKEN_ENV]
        return {**super().http_headers, "X-API-TOKEN": token}

    def get_new_paginator(self) -> BaseAPIPaginator[Any]:
        return NextPageUrlPaginator()

    def get_http_request(self, *, page: PageContext) -> HTTPRequest:
        """Follow `nextPage` verbatim: it already carries every query parameter."""
        request = super().get_http_request(page=page)
        if page.next_page_token:
            request.url = page.next_page_token.geturl()
            request.params = {}
        return request

    def get_replication_key_signpost(self, context: Context | None = None) -> None:
        """No signpost: singer-sdk would take it from the local clock, and on finishing an
        unsorted partition it raises the bookmark to it, past data the source (whose clock
        may differ, as the sandbox's does) has not served yet."""
        return None

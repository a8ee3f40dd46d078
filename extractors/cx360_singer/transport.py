"""A requests transport that reads a whole response body in one call.

Why: without `stream=True`, requests builds `Response.content` from 10 KiB reads of
urllib3's stream, each a Python-level round trip (and a GIL release and re-acquire). An
export page of Zendesk tickets is ~0.7 MB: seventy reads per page, about as much CPU as
parsing the page. One `read()` of the whole body costs half. Streaming requests
(Amplitude's zip, Qualtrics' export files) are passed through untouched.
"""

from __future__ import annotations

from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import DecodeError, ProtocolError, ReadTimeoutError, SSLError


class WholeBodyAdapter(HTTPAdapter):
    """`HTTPAdapter` whose non-streaming responses arrive with `content` already read,
    failing as requests' own body read fails (so retries see the same exceptions)."""

    def send(  # type: ignore[override]
        self, request: requests.PreparedRequest, stream: bool = False, **kwargs: Any
    ) -> requests.Response:
        response = super().send(request, stream=True, **kwargs)
        if stream:
            return response
        try:
            body = response.raw.read(decode_content=True)
        except ProtocolError as error:  # includes a body cut short of its Content-Length
            response.close()
            raise requests.exceptions.ChunkedEncodingError(error) from error
        except DecodeError as error:
            response.close()
            raise requests.exceptions.ContentDecodingError(error) from error
        except ReadTimeoutError as error:
            response.close()
            raise requests.exceptions.ConnectionError(error) from error
        except SSLError as error:
            response.close()
            raise requests.exceptions.SSLError(error) from error
        # what `Response.content` stores once it has read the body itself
        response._content = body or b""
        response._content_consumed = True
        return response


def mount_whole_body_adapter(session: requests.Session) -> None:
    """Use `WholeBodyAdapter` for every http(s) request of `session`."""
    adapter = WholeBodyAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)

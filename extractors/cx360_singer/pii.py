"""PII hashing applied in tap code, before records leave the tap.

Why in the tap: singer-sdk stream maps are not applied to BATCH files, and raw emails or
phone numbers must not reach the warehouse. Values are replaced by a keyed hash so they
still join across sources (the same email hashes the same in Zendesk and Salesforce) but
cannot be reversed by hashing a dictionary of likely values without the salt.

Salt: environment variable ``CX360_PII_SALT`` (any non-empty secret string; keep it stable,
changing it changes every hash). Hash: ``HMAC-SHA256(key=salt, msg=normalised value)`` as
64 lowercase hex characters. Normalisation (strip + casefold) makes ``Ann@X.com `` and
``ann@x.com`` one identity; pass ``normalize=False`` to hash the exact text.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from typing import Any

from cx360_singer.env import require_env

PII_SALT_ENV = "CX360_PII_SALT"


def pii_salt(environ: Mapping[str, str] | None = None) -> str:
    """The salt from ``CX360_PII_SALT``; MissingCredentialsError if unset."""
    return require_env([PII_SALT_ENV], "PII hashing", environ=environ)[PII_SALT_ENV]


def hash_pii(value: Any, salt: str, *, normalize: bool = True) -> str | None:
    """Keyed SHA-256 hex digest of ``value`` (None stays None; non-strings are str()ed)."""
    if value is None:
        return None
    if not salt:
        raise ValueError("hash_pii needs a non-empty salt (CX360_PII_SALT)")
    text = str(value)
    if normalize:
        text = text.strip().casefold()
    return hmac.new(salt.encode(), text.encode(), hashlib.sha256).hexdigest()


def hash_fields(
    record: Mapping[str, Any], fields: Iterable[str], salt: str, *, normalize: bool = True
) -> dict[str, Any]:
    """Copy of ``record`` with each listed field hashed; dotted names reach into objects
    (``"via.source.from.address"``) and through lists of objects. Missing fields are
    ignored."""
    out = dict(record)
    for name in fields:
        _hash_path(out, name.split("."), salt, normalize)
    return out


def _hash_path(node: Any, path: list[str], salt: str, normalize: bool) -> Any:
    if isinstance(node, list):
        return [_hash_path(item, path, salt, normalize) for item in node]
    if not isinstance(node, dict) or path[0] not in node:
        return node
    head, rest = path[0], path[1:]
    if rest:
        child = node[head]
        if isinstance(child, dict):
            child = dict(child)
        node[head] = _hash_path(child, rest, salt, normalize)
    else:
        value = node[head]
        if isinstance(value, list):
            node[head] = [hash_pii(v, salt, normalize=normalize) for v in value]
        else:
            node[head] = hash_pii(value, salt, normalize=normalize)
    return node

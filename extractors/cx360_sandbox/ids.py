"""Identifier formats that look like the real systems' own."""

from __future__ import annotations

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_CHECKSUM_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"

# Salesforce key prefixes of the objects the sandbox serves.
SF_PREFIX = {
    "Account": "001",
    "Contact": "003",
    "Opportunity": "006",
    "User": "005",
    "OpportunityContactRole": "00K",
}

# Zendesk ids exceed int32 on real accounts; start well above 2**31 so loaders that narrow
# integers fail loudly in tests rather than in production.
ZENDESK_ID_BASE = 36_000_000_000


def _base62(number: int, width: int) -> str:
    digits = []
    while number:
        number, rem = divmod(number, 62)
        digits.append(_BASE62[rem])
    return "".join(reversed(digits)).rjust(width, "0")


def salesforce_id(sobject: str, number: int) -> str:
    """An 18-character Salesforce id with the real case-safety checksum suffix."""
    short = SF_PREFIX[sobject] + "Dn" + _base62(number, 10)
    suffix = ""
    for chunk_start in range(0, 15, 5):
        chunk = short[chunk_start : chunk_start + 5]
        flags = sum(1 << i for i, ch in enumerate(chunk) if "A" <= ch <= "Z")
        suffix += _CHECKSUM_ALPHABET[flags]
    return short + suffix


def zendesk_id(kind_offset: int, number: int) -> int:
    """A large integer id; each entity kind lives in its own billion-wide range."""
    return ZENDESK_ID_BASE + kind_offset * 1_000_000_000 + number


def qualtrics_id(prefix: str, number: int) -> str:
    """Qualtrics ids are a type prefix and 15 base62 characters, e.g. `R_1a2B3c…`."""
    return f"{prefix}_{_base62(number * 7919 + 104729, 15)}"

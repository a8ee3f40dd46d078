"""Scale presets for the synthetic company.

Per-account rates grow with the preset so that `tiny` stays quick for unit tests while
`medium` reaches the volumes the benchmarks need (≈10k accounts, 250k contacts, 1M tickets,
500k survey responses, 10M usage events).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scale:
    name: str
    accounts: int
    contacts_per_account: float
    """Mean Salesforce contacts per account (enterprise accounts get more)."""
    tickets_per_account_year: float
    """Mean tickets per active account per year, before health and friction effects."""
    responses_per_account_year: float
    """Mean survey responses per active account per year across every program."""
    events_per_user_day: float
    """Mean product events per active product user per active day."""
    product_users_per_seat: float
    """Share of paid seats that exist as distinct product users in the event stream."""


SCALES: dict[str, Scale] = {
    "tiny": Scale("tiny", 50, 8, 10, 10, 0.3, 0.05),
    "demo": Scale("demo", 500, 12, 30, 20, 0.3, 0.08),
    "medium": Scale("medium", 10_000, 25, 48, 21, 0.22, 0.12),
    "large": Scale("large", 50_000, 25, 48, 21, 0.22, 0.12),
}


class UnknownScaleError(ValueError):
    """Raised for a scale name that is not a preset."""


def get_scale(name: str) -> Scale:
    """Return the preset called `name`, or fail listing the valid ones."""
    try:
        return SCALES[name]
    except KeyError:
        valid = ", ".join(SCALES)
        raise UnknownScaleError(f"unknown scale {name!r}; choose one of: {valid}") from None

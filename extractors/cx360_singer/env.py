"""Credentials come from environment variables only (never config files or logs)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping


class MissingCredentialsError(RuntimeError):
    """Raised before any request when credential environment variables are unset."""


def require_env(
    names: Iterable[str], source: str, *, environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Return ``{name: value}`` for every name, or fail once listing *every* missing one.

    Why one error: an operator fixing a deployment should not discover missing variables
    one run at a time. Values are never included in the message.
    """
    env = os.environ if environ is None else environ
    wanted = list(names)
    missing = [n for n in wanted if not env.get(n)]
    if missing:
        raise MissingCredentialsError(
            f"{source}: missing environment variable(s): {', '.join(missing)}. "
            "Credentials are read from the environment only."
        )
    return {n: env[n] for n in wanted}

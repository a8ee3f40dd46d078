"""The credentials the sandbox accepts.

The sandbox reads the same environment variables as the taps, so a run with other values
(e.g. sentinel secrets in a leak drill) needs them set once for both sides. Defaults exist
only because the sandbox is a local fake; the taps have no defaults.
"""

from __future__ import annotations

import os

SANDBOX_CREDENTIALS: dict[str, str] = {
    "SALESFORCE_CLIENT_ID": "cx360-sandbox-client",
    "SALESFORCE_CLIENT_SECRET": "sandbox-salesforce-secret",
    "SALESFORCE_REFRESH_TOKEN": "sandbox-salesforce-refresh-token",
    "ZENDESK_EMAIL": "sandbox@cx360.example",
    "ZENDESK_API_TOKEN": "sandbox-zendesk-token",
    "QUALTRICS_API_TOKEN": "sandbox-qualtrics-token",
    "DELIGHTED_API_KEY": "sandbox-delighted-key",
    "AMPLITUDE_API_KEY": "sandbox-amplitude-key",
    "AMPLITUDE_SECRET_KEY": "sandbox-amplitude-secret",
    # Not an API credential: the key taps use to hash PII (e-mails) before it lands. The
    # sandbox supplies one so that the demo runs with no setup.
    "CX360_PII_SALT": "sandbox-pii-salt",
}


def sandbox_credentials() -> dict[str, str]:
    """Accepted values: the environment's where set, else the sandbox defaults."""
    return {name: os.environ.get(name, default) for name, default in SANDBOX_CREDENTIALS.items()}

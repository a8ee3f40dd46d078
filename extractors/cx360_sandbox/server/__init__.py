"""Local HTTP imitations of the Salesforce, Zendesk, Qualtrics, Delighted and Amplitude APIs."""

from .core import SandboxServer
from .credentials import SANDBOX_CREDENTIALS, sandbox_credentials

__all__ = ["SANDBOX_CREDENTIALS", "SandboxServer", "sandbox_credentials"]

"""cx360: an open-source Customer 360 warehouse for B2B SaaS customer-experience teams."""

__version__ = "0.1.0"

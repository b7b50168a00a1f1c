"""quotawarden: watch every LLM quota, rate limit, balance and dollar across your accounts."""

__version__ = "0.1.0"

"""One exception tree. Foreign errors (httpx, SQLAlchemy, pydantic, tomllib) are translated at the edge.

    QuotawardenError
    ├── ConfigError            bad config file or value (exit code 2); carries file, line and field
    ├── CredentialError        missing, unreadable or rejected credential (401/403)
    ├── ProviderError          the provider answered, but not usefully
    │   ├── RateLimited        429 or quota exhausted; ``retry_after`` seconds when known
    │   ├── MalformedResponse  a body or header we cannot read
    │   └── UpstreamError      5xx
    ├── Unreachable            network error or timeout
    ├── StoreError             the database is down, locked or on a schema we do not know
    │   └── SchemaTooNew
    ├── PluginError            a plug-in failed to load or registered something invalid
    └── VaultError             wrong passphrase, tampered vault, missing keyring
"""

from __future__ import annotations


class QuotawardenError(Exception):
    exit_code = 1


class ConfigError(QuotawardenError):
    exit_code = 2

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 field: str | None = None) -> None:
        self.file, self.line, self.field, self.detail = file, line, field, message
        where = ":".join(str(p) for p in (file, line) if p is not None)
        parts = [p for p in (where, field) if p]
        super().__init__(f"{': '.join(parts)}: {message}" if parts else message)


class CredentialError(QuotawardenError):
    pass


class ProviderError(QuotawardenError):
    pass


class RateLimited(ProviderError):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class MalformedResponse(ProviderError):
    pass


class UpstreamError(ProviderError):
    pass


class Unreachable(QuotawardenError):
    pass


class StoreError(QuotawardenError):
    pass


class SchemaTooNew(StoreError):
    pass


class PluginError(QuotawardenError):
    pass


class VaultError(QuotawardenError):
    pass

"""Secrets never leave as themselves: show ``sk-...abcd`` at most, and match keys by fingerprint."""

from __future__ import annotations

import hashlib
import re

_SECRET_HEADERS = {"authorization", "x-api-key", "api-key", "x-goog-api-key", "proxy-authorization", "cookie",
                   "set-cookie", "x-quotawarden-token"}
_KEYLIKE = re.compile(r"(sk-[A-Za-z0-9_\-]{3})[A-Za-z0-9_\-]{8,}([A-Za-z0-9]{4})|"
                      r"((?:gh[opsu]|github_pat|xai|gsk|AIza)[A-Za-z0-9_\-]{0,3})[A-Za-z0-9_\-]{12,}([A-Za-z0-9]{4})")


def mask(secret: str | None) -> str:
    """``sk-ant-api03-XXXX...`` -> ``sk-...abcd``; short or empty secrets show nothing of themselves."""
    if not secret:
        return ""
    if len(secret) < 12:
        return "***"
    prefix = secret.split("-", 1)[0] + "-" if "-" in secret[:8] else ""
    return f"{prefix}...{secret[-4:]}"


def fingerprint(secret: str) -> str:
    """A stable, non-reversible id for a key, so two instances with one key share a poller."""
    return hashlib.sha256(b"quotawarden:" + secret.encode()).hexdigest()[:16]


def redact_text(text: str) -> str:
    """Mask anything shaped like a provider key inside free text (error messages, logs)."""

    def repl(m: re.Match[str]) -> str:
        whole = m.group(0)
        return mask(whole)

    return _KEYLIKE.sub(repl, text)


def redact_headers(headers: dict[str, str]) -> dict[str, str]:
    return {k: (mask(v.split(" ")[-1]) if k.lower() in _SECRET_HEADERS else v) for k, v in headers.items()}

"""The shared fixture files parse to the documented values (anthropic, claude, codex, openai, gemini)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from quotawarden.domain import Account, Outcome, Unit
from quotawarden.errors import CredentialError
from quotawarden.plugins import load_plugins
from quotawarden.providers import claude, gemini
from quotawarden.spec import Headers, HttpResponse, ProbeContext
from quotawarden.testing import drive_probe, load_http_response

HERE = Path(__file__).parent
NOW = datetime(2026, 8, 20, 14, 3, 11, tzinfo=UTC)
H5 = datetime(2026, 8, 20, 17, 0, tzinfo=UTC)
D7 = datetime(2026, 8, 24, 9, 0, tzinfo=UTC)
PLUGINS = load_plugins()
SECRET = "sk-test-0123456789abcdefghijklmnop"


def ctx(slug: str, secret: str | None = SECRET, **settings: object) -> ProbeContext:
    spec = PLUGINS.provider(slug)
    model = spec.settings_model(**settings) if spec.settings_model else None
    return ProbeContext(Account(f"{slug}-1", slug), secret, model, NOW)


def resp(name: str, status: int = 200) -> HttpResponse:
    path = HERE / name
    if path.suffix == ".txt":
        return load_http_response(path)
    return HttpResponse(status, Headers({"content-type": "application/json"}), path.read_bytes())


def run(slug: str, *responses: HttpResponse, secret: str | None = SECRET, **settings: object):
    probe = PLUGINS.provider(slug).probe
    assert probe is not None
    return drive_probe(probe, ctx(slug, secret, **settings), list(responses))


def windows(samples):
    return {s.window: s for s in samples}


@pytest.mark.parametrize(("window", "unit", "limit", "remaining", "reset"), [
    ("rpm", Unit.REQUESTS, 1000, 997, "2026-08-20T14:03:12Z"),
    ("tpm", Unit.TOKENS, 2_400_000, 2_386_000, "2026-08-20T14:03:12Z"),
    ("itpm", Unit.TOKENS, 2_000_000, 1_987_000, "2026-08-20T14:03:12Z"),
    ("otpm", Unit.TOKENS, 400_000, 399_000, "2026-08-20T14:03:11Z"),
])
def test_anthropic_headers(window, unit, limit, remaining, reset) -> None:
    reading = run("anthropic", resp("anthropic/anthropic_headers_200.txt"))
    s = windows(reading.samples)[window]
    assert (s.unit, s.limit, s.remaining, s.used) == (unit, limit, remaining, limit - remaining)
    assert s.resets_at == datetime.fromisoformat(reset.replace("Z", "+00:00"))
    assert reading.outcome is Outcome.OK


def test_anthropic_429_keeps_the_exhausted_buckets() -> None:
    reading = run("anthropic", resp("anthropic/anthropic_429.txt"))
    assert reading.outcome is Outcome.THROTTLED and reading.retry_at == NOW + timedelta(seconds=17)  # per minute
    assert windows(reading.samples)["itpm"].remaining == 0 and windows(reading.samples)["otpm"].remaining == 6000


def test_anthropic_429_without_retry_after_waits_for_the_exhausted_buckets_reset() -> None:
    now = datetime(2024, 3, 26, 19, 59, 59, tzinfo=UTC)  # the capture's Date header
    context = ProbeContext(Account("anthropic-1", "anthropic"), SECRET, None, now)
    reading = drive_probe(PLUGINS.provider("anthropic").probe, context,  # type: ignore[arg-type]
                          [resp("anthropic/anthropic_429_no_retry_after.txt")])
    assert reading.outcome is Outcome.THROTTLED  # requests per minute: request-scoped
    assert reading.retry_at == datetime(2024, 3, 26, 20, 0, tzinfo=UTC) and "retry in 1s" in reading.reason
    assert windows(reading.samples)["rpm"].remaining == 0


def test_anthropic_exhausted_bucket_without_reset_reopens_at_retry_after() -> None:
    h = Headers({"retry-after": "30", "anthropic-ratelimit-requests-limit": "50",
                 "anthropic-ratelimit-requests-remaining": "0"})
    from quotawarden.providers import anthropic

    [rpm] = anthropic.HEADERS.read("a1", 429, h, NOW)
    assert rpm.resets_at == NOW + timedelta(seconds=30)
    assert anthropic.HEADERS.read("a1", 200, h, NOW)[0].resets_at is None  # only a 429 says when


@pytest.mark.parametrize(("name", "status"), [("anthropic/anthropic_401.json", 401),
                                              ("anthropic/anthropic_403.json", 403)])
def test_anthropic_invalid(name, status) -> None:
    with pytest.raises(CredentialError):
        run("anthropic", resp(name, status))


@pytest.mark.parametrize(("name", "expect"), [
    ("claude/anthropic_unified_headers.txt", {"5h": (0.42, H5, "allowed"), "7d": (0.18, D7, "allowed")}),
    ("claude/anthropic_unified_headers_warning.txt",
     {"5h": (0.91, H5, "allowed_warning"), "7d": (0.57, D7, "allowed"),
      "overage": (0.12, datetime(2026, 9, 1, tzinfo=UTC), "allowed")}),
    ("claude/anthropic_unified_429.txt", {"5h": (1.0, H5, "rejected"), "7d": (0.59, D7, "allowed")}),
])
def test_claude_unified_headers(name, expect) -> None:
    r = load_http_response(HERE / name)
    got = windows(claude.HEADERS.read("c1", r.status, r.headers, NOW))
    for window, (ratio, reset, status) in expect.items():
        assert (got[window].used_ratio, got[window].resets_at, got[window].status) == (ratio, reset, status)
        assert got[window].unit is Unit.PERCENT
    assert claude.header_outcome(r.headers)[0] is (Outcome.LIMITED if "429" in name else Outcome.OK)


def test_claude_extra_usage_turned_off_is_not_an_exhausted_window() -> None:
    """A healthy answer with ``overage-status: rejected`` (extra usage disabled for the org) is GREEN, not RED."""
    from quotawarden.analysis.health import Policy, Window, account_level, decide

    r = load_http_response(HERE / "claude/anthropic_unified_headers.txt")
    got = windows(claude.HEADERS.read("c1", r.status, r.headers, NOW))
    assert got["overage"].status == claude.OVERAGE_UNAVAILABLE and got["overage"].used_ratio is None
    levels = [decide(Window("claude", s.window, s.effective_ratio, s.remaining, s.status, s.window_length_s,
                            s.resets_at, s.observed_at), Policy(), NOW).level for s in got.values()]
    assert "RED" not in levels and account_level(levels, None) == "GREEN"


def test_claude_429_with_only_the_exhausted_windows_headers_is_limited() -> None:
    r = load_http_response(HERE / "claude/anthropic_unified_429_windows_only.txt")
    got = windows(claude.HEADERS.read("c1", r.status, r.headers, NOW))
    assert set(got) == {"5h"}
    assert (got["5h"].used_ratio, got["5h"].status) == (1.08, "rejected")
    assert got["5h"].resets_at == NOW + timedelta(seconds=13262)  # from retry-after: nothing else says
    outcome, reason = claude.header_outcome(r.headers)
    assert outcome is Outcome.LIMITED and "5h" in reason


def test_claude_overage_headers_mean_overage() -> None:
    h = Headers({"anthropic-ratelimit-unified-status": "rejected",
                 "anthropic-ratelimit-unified-overage-status": "allowed",
                 "anthropic-ratelimit-unified-7d-sonnet-utilization": "0.30"})
    assert claude.header_outcome(h)[0] is Outcome.OVERAGE
    assert windows(claude.HEADERS.read("c1", 200, h, NOW))["7d_sonnet"].used_ratio == 0.30


def test_claude_usage_endpoint() -> None:
    reading = run("claude", resp("claude/anthropic_oauth_usage.json"))
    w = windows(reading.samples)
    assert (w["5h"].used_ratio, w["7d"].used_ratio, w["7d_opus"].used_ratio, w["7d_sonnet"].used_ratio) == \
        (0.42, 0.18, 0.03, 0.11)
    assert w["5h"].resets_at.replace(microsecond=0) == H5 and w["5h"].window_length_s == 18000
    assert (w["extra_usage"].used, w["extra_usage"].limit, w["extra_usage"].unit) == (12.75, 50.0, Unit.USD)
    assert reading.outcome is Outcome.OK


def test_claude_usage_errors() -> None:
    with pytest.raises(CredentialError):
        run("claude", resp("claude/anthropic_oauth_usage_401.json", 401))
    with pytest.raises(CredentialError, match="user:profile"):
        run("claude", resp("claude/anthropic_oauth_usage_403.json", 403))
    limited = run("claude", resp("claude/anthropic_oauth_usage_429.txt"))
    assert limited.outcome is Outcome.ERROR and limited.retry_at == NOW + timedelta(seconds=300)


def test_claude_credentials_file_is_accepted() -> None:
    secret = (HERE / "claude/claude_credentials.json").read_text()
    reading = run("claude", resp("claude/anthropic_oauth_usage.json"), secret=secret)
    assert reading.outcome is Outcome.OK


def test_codex_windows_by_length() -> None:
    reading = run("codex", resp("codex/codex_wham_usage.json"))
    w = windows(reading.samples)
    assert (w["5h"].used_ratio, w["5h"].resets_at, w["5h"].window_length_s) == (0.26, H5, 18000)
    assert (w["7d"].used_ratio, w["7d"].resets_at) == (0.42, D7)
    assert reading.details["plan_type"] == "plus"


def run_at(slug: str, now: datetime, *responses: HttpResponse):
    """A probe as it ran when a real answer was captured (its resets are in the past today)."""
    context = ProbeContext(Account(f"{slug}-1", slug), SECRET, None, now)
    return drive_probe(PLUGINS.provider(slug).probe, context, list(responses))  # type: ignore[arg-type]


def test_codex_real_free_answer_has_a_weekly_primary_window() -> None:
    """james-6-23/codex2api#168: a free account's only window is the primary one, 7 days long."""
    now = datetime.fromtimestamp(1780378144 - 604800, UTC)  # reset_at - reset_after_seconds
    reading = run_at("codex", now, resp("codex/codex_wham_usage_free_weekly_only.json"))
    w = windows(reading.samples)
    assert set(w) == {"7d"} and reading.outcome is Outcome.OK
    assert (w["7d"].used_ratio, w["7d"].window_length_s) == (0.03, 604800)
    assert w["7d"].resets_at == datetime.fromtimestamp(1780378144, UTC)
    assert reading.details["plan_type"] == "free"


def test_codex_real_exhausted_week_is_limited_until_its_reset() -> None:
    """james-6-23/codex2api#168: a Plus account at 100 % of the week, 1 % of the 5 hours."""
    now = datetime.fromtimestamp(1779791385 - 18000, UTC)
    reading = run_at("codex", now, resp("codex/codex_wham_usage_plus_weekly_exhausted.json"))
    w = windows(reading.samples)
    assert (w["5h"].used_ratio, w["7d"].used_ratio) == (0.01, 1.0)
    assert reading.outcome is Outcome.LIMITED
    assert reading.retry_at == datetime.fromtimestamp(1780208142, UTC)


def test_codex_real_prolite_answer_without_resets() -> None:
    """vinzdg/codenotch#286: a weekly primary window with neither reset_at nor reset_after_seconds."""
    reading = run("codex", resp("codex/codex_wham_usage_prolite.json"))
    w = windows(reading.samples)
    assert set(w) == {"7d"} and w["7d"].used_ratio == 0 and w["7d"].resets_at is None
    assert reading.details["plan_type"] == "prolite"


@pytest.mark.parametrize(("window", "unit", "limit", "remaining", "reset_s"), [
    ("rpm", Unit.REQUESTS, 5000, 4999, 0.012), ("tpm", Unit.TOKENS, 2_000_000, 1_998_764, 0.037)])
def test_openai_headers(window, unit, limit, remaining, reset_s) -> None:
    r = load_http_response(HERE / "openai/openai_headers.txt")
    reading = run("openai", r)
    s = windows(reading.samples)[window]
    assert (s.unit, s.limit, s.remaining) == (unit, limit, remaining)
    assert s.resets_at == NOW + timedelta(seconds=reset_s)


def test_openai_429_kinds() -> None:
    rate = run("openai", resp("openai/openai_429_rate_limit.txt"))
    assert rate.outcome is Outcome.THROTTLED and rate.retry_at == NOW + timedelta(seconds=6)  # tokens per minute
    assert windows(rate.samples)["tpm"].resets_at == NOW + timedelta(seconds=5.82)
    quota = run("openai", resp("openai/openai_429_insufficient_quota.json", 429))
    assert quota.outcome is Outcome.LIMITED and quota.retry_at is None and "insufficient_quota" in quota.reason


@pytest.mark.parametrize("text", ["6m0s", "1.5s", "20ms", "1h2m3s"])
def test_go_durations(text) -> None:
    from quotawarden.providers._quota import go_duration

    assert go_duration(text) == {"6m0s": 360, "1.5s": 1.5, "20ms": 0.02, "1h2m3s": 3723}[text]


def test_gemini_429_violations() -> None:
    reading = run("gemini", resp("gemini/gemini_429.json", 429), probe="generate", rpd_limit=250)
    w = windows(reading.samples)
    assert (w["rpm"].limit, w["rpm"].used_ratio, w["rpm"].remaining) == (10, 1.0, 0)
    assert reading.outcome is Outcome.LIMITED and reading.retry_at == NOW + timedelta(seconds=38)
    assert w["rpd"].limit == 250 and w["rpd"].used_ratio is None  # configured, not exhausted


def test_gemini_daily_429_resets_at_midnight_pacific() -> None:
    reading = run("gemini", resp("gemini/gemini_429_daily.json", 429))
    rpd = windows(reading.samples)["rpd"]
    assert rpd.limit == 250 and rpd.resets_at == datetime(2026, 8, 21, 7, 0, tzinfo=UTC)  # PDT midnight
    assert gemini.next_pacific_midnight(datetime(2026, 1, 10, 12, tzinfo=UTC)) == datetime(2026, 1, 11, 8, tzinfo=UTC)


def test_gemini_per_day_429_retries_at_midnight_pacific_not_after_retry_delay() -> None:
    reading = run("gemini", resp("gemini/gemini_429_daily_short_delay.json", 429), probe="generate")
    w = windows(reading.samples)
    midnight = datetime(2026, 8, 21, 7, 0, tzinfo=UTC)  # PDT
    assert reading.outcome is Outcome.LIMITED and reading.retry_at == midnight
    assert "47" not in reading.reason and midnight.isoformat() in reading.reason
    assert w["rpd"].resets_at == midnight and w["rpm"].resets_at == NOW + timedelta(seconds=47)
    assert w["tpm"].unit is Unit.TOKENS and w["tpm"].used_ratio == 1.0


def test_retry_is_never_before_an_exhausted_windows_reset() -> None:
    from quotawarden.domain import QuotaSample, Source, limited_until

    def sample(window: str, length: int | None, reset: datetime, remaining: float) -> QuotaSample:
        return QuotaSample(observed_at=NOW, account_id="a", window=window, unit=Unit.REQUESTS, remaining=remaining,
                           limit=10, resets_at=reset, window_length_s=length, source=Source.PROBE)

    soon, day = NOW + timedelta(seconds=38), NOW + timedelta(hours=17)
    assert limited_until(NOW, soon, [sample("rpd", 86400, day, 0)]) == day
    assert limited_until(NOW, soon, [sample("rpd", 86400, day, 3)]) == soon  # not exhausted
    assert limited_until(NOW, soon, [sample("tpm", 60, day, 0)]) == soon  # a refilling bucket: the answer's time
    assert limited_until(NOW, None, [sample("tpm", 60, soon, 0), sample("rpm", 60, day, 0)]) == day
    assert limited_until(NOW, None, []) is None


def test_gemini_bad_key_is_400() -> None:
    with pytest.raises(CredentialError):
        run("gemini", resp("gemini/gemini_400_invalid_key.json", 400))
    with pytest.raises(CredentialError):
        run("gemini", resp("gemini/gemini_403.json", 403))


def _page(data: dict, has_more: bool = False) -> HttpResponse:
    import orjson

    return HttpResponse(200, Headers({"content-type": "application/json"}),
                        orjson.dumps(dict(data, has_more=has_more, next_page="p2" if has_more else None)))


def test_anthropic_admin_reports_paginate_and_sum_cents() -> None:
    import orjson

    cost = orjson.loads((HERE / "anthropic_admin/anthropic_cost_report.json").read_bytes())
    usage = orjson.loads((HERE / "anthropic_admin/anthropic_usage_report.json").read_bytes())
    reading = run("anthropic_admin", resp("anthropic_admin/anthropic_cost_report.json"),
                  resp("anthropic_admin/anthropic_usage_report.json"), _page(dict(usage, data=[])))
    monthly = windows(reading.samples)["monthly"]
    assert (monthly.unit, round(monthly.used, 6)) == (Unit.USD, 2.607927)  # 260.79265 cents
    costs = [e for e in reading.usage if e.cost is not None]
    assert len(costs) == 5 and sum(e.cost for e in costs) == sum(
        __import__("decimal").Decimal(r["amount"]) for b in cost["data"] for r in b["results"]) / 100
    tokens = [e for e in reading.usage if e.cost is None]
    sonnet = tokens[0]
    assert (sonnet.input_tokens, sonnet.cache_write_tokens, sonnet.cache_read_tokens, sonnet.output_tokens) == \
        (184220, 96410, 2417730, 61894)
    assert len({e.dedup_key for e in reading.usage}) == len(reading.usage) == 8


def test_openai_admin_costs_in_dollars_and_usage_split() -> None:
    reading = run("openai_admin", resp("openai_admin/openai_costs.json"),
                  resp("openai_admin/openai_usage_completions.json"),
                  _page({"object": "page", "data": []}))
    assert round(windows(reading.samples)["monthly"].used, 6) == 2.264485
    first = next(e for e in reading.usage if e.cost is None)
    assert (first.model, first.input_tokens, first.cache_read_tokens, first.output_tokens) == \
        ("gpt-4.1-mini-2025-04-14", 1843210 - 1310720, 1310720, 211940)

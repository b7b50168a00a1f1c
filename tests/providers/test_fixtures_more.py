"""The shared fixture files parse to the documented values, for every balance, subscription and local provider.

Each case: provider, settings, the fixture answers in order, and per window the expected unit and numbers.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from quotawarden.domain import Outcome, Provenance, Unit
from quotawarden.errors import CredentialError, MalformedResponse, QuotawardenError, RateLimited
from tests.providers.more_kit import NOW, SECRET, by_window, context, fixture, run


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


R5H = at("2026-08-20T17:00:00")
R7D = at("2026-08-24T09:00:00")
RMONTH = at("2026-09-01T00:00:00")

# window -> (unit, used, remaining, limit, used_ratio, resets_at)
CASES: list[tuple[str, str, dict[str, Any], list[str], dict[str, tuple[Any, ...]]]] = [
    ("groq headers", "groq", {}, ["groq/groq_headers.txt"], {
        "rpd": (Unit.REQUESTS, 30, 14370, 14400, 30 / 14400, NOW + timedelta(seconds=179.56)),
        "tpm": (Unit.TOKENS, 3, 17997, 18000, 3 / 18000, NOW + timedelta(seconds=7.66))}),
    ("mistral legacy by-size headers", "mistral", {}, ["mistral/mistral_headers.txt"], {
        "tpm": (Unit.TOKENS, 32007, 467993, 500000, 32007 / 500000, NOW + timedelta(seconds=40)),
        "monthly": (Unit.TOKENS, 1587790, 998412210, 1e9, 1587790 / 1e9, None)}),
    ("mistral headers (real capture, client-ts#169)", "mistral", {}, ["mistral/mistral_headers_2026.txt"], {
        "tpm": (Unit.TOKENS, 89, 4999911, 5_000_000, 89 / 5_000_000, None),
        "rpm": (Unit.REQUESTS, 3, 717, 720, 3 / 720, None)}),
    ("xai balance", "xai", {"team_id": "team-1"}, ["xai/xai_prepaid_balance.json"], {
        "balance": (Unit.USD, None, 25.0, None, None, None)}),
    ("openrouter key + credits", "openrouter", {"credits": True},
     ["openrouter/openrouter_key_management.json", "openrouter/openrouter_credits.json"], {
        "monthly": (Unit.USD, 50 - 37.1843, 37.1843, 50, (50 - 37.1843) / 50, RMONTH),
        "daily": (Unit.USD, 1.2207, None, None, None, at("2026-08-21T00:00:00")),
        "weekly": (Unit.USD, 9.441, None, None, None, at("2026-08-24T00:00:00")),
        "total": (Unit.USD, 112.9921, None, None, None, None),
        "credits": (Unit.USD, 112.99214, 200 - 112.99214, 200, 112.99214 / 200, None)}),
    ("deepseek balance", "deepseek", {}, ["deepseek/deepseek_balance.json"], {
        "balance_usd": (Unit.USD, None, 17.42, None, None, None)}),
    ("moonshot balance", "moonshot", {}, ["moonshot/moonshot_balance.json"], {
        "balance": (Unit.USD, None, 49.58894, None, None, None)}),
    ("kimi code usages", "kimi", {}, ["moonshot/kimi_code_usages.json"], {
        "7d": (Unit.REQUESTS, 512, 1536, 2048, 0.25, R7D),
        "5h": (Unit.REQUESTS, 63, 137, 200, 63 / 200, R5H)}),
    ("copilot paid", "copilot", {}, ["copilot/copilot_user.json"], {
        "premium": (Unit.REQUESTS, 571.5, 928.5, 1500, 1 - 0.619, RMONTH),
        "chat": (Unit.REQUESTS, None, None, None, 0.0, RMONTH),
        "completions": (Unit.REQUESTS, None, None, None, 0.0, RMONTH)}),
    ("copilot free", "copilot", {}, ["copilot/copilot_user_free.json"], {
        "chat": (Unit.REQUESTS, 19, 31, 50, 19 / 50, RMONTH),
        "completions": (Unit.REQUESTS, 590, 1410, 2000, 590 / 2000, RMONTH)}),
    ("copilot billing report", "copilot_billing", {"user": "octocat-dev"},
     ["copilot/copilot_premium_request_usage.json"], {
        "premium_billed": (Unit.REQUESTS, 571.5, None, None, None, RMONTH)}),
    ("zai quota", "zai", {}, ["zai/zai_quota_limit.json"], {
        "5h": (Unit.PERCENT, None, None, None, 0.37, R5H),
        "7d": (Unit.PERCENT, None, None, None, 0.12, R7D),
        "tools": (Unit.REQUESTS, 224, 776, 1000, 0.22, None)}),
    ("minimax remains", "minimax", {}, ["minimax/minimax_remains.json"], {
        "5h": (Unit.REQUESTS, 373, 1127, 1500, 373 / 1500, at("2026-08-20T18:00:00")),
        "7d": (Unit.REQUESTS, 2590, 12410, 15000, 2590 / 15000, at("2026-08-24T00:00:00"))}),
    ("alibaba coding plan (constructed)", "alibaba", {}, ["alibaba/coding_plan.json"], {
        "5h": (Unit.REQUESTS, 412, 788, 1200, 412 / 1200, R5H),
        "7d": (Unit.REQUESTS, 2950, 6050, 9000, 2950 / 9000, R7D),
        "monthly": (Unit.REQUESTS, 7020, 10980, 18000, 7020 / 18000, RMONTH)}),
    ("llamacpp ok", "llamacpp", {"metrics": True},
     ["llamacpp/llamacpp_health_ok.json", "llamacpp/missing_models", "llamacpp/llamacpp_metrics.txt"], {
        "health": (Unit.REQUESTS, None, None, None, 0.0, None)}),
    ("ollama loaded", "ollama", {}, ["ollama/ollama_ps.json"], {
        "health": (Unit.REQUESTS, None, None, None, 0.0, None)}),
]


def answers(names: list[str]) -> list[Any]:
    from quotawarden.spec import Headers, HttpResponse

    out = []
    for name in names:
        if name.endswith("missing_models"):
            out.append(HttpResponse(404, Headers({}), b"{}"))
        else:
            out.append(fixture(name))
    return out


@pytest.mark.parametrize(("slug", "settings", "files", "expected"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_fixture_parses_to_documented_values(slug: str, settings: dict[str, Any], files: list[str],
                                             expected: dict[str, tuple[Any, ...]]) -> None:
    reading = run(slug, context(slug, settings), answers(files))
    got = by_window(reading.samples)
    assert set(got) == set(expected), reading
    for window, (unit, used, remaining, limit, ratio, resets) in expected.items():
        s = got[window]
        assert s.unit is unit, window
        for name, want, have in (("used", used, s.used), ("remaining", remaining, s.remaining),
                                 ("limit", limit, s.limit), ("used_ratio", ratio, s.used_ratio)):
            assert have == (None if want is None else pytest.approx(want)), f"{window}.{name}"
        assert s.resets_at == resets, window
        assert s.provenance is Provenance.OFFICIAL
        assert s.observed_at == NOW and s.account_id == f"{slug}-1"
    assert "rejected" not in reading.details


def test_provider_details() -> None:
    r = run("deepseek", context("deepseek"), [fixture("deepseek/deepseek_balance.json")])
    assert r.details == {"is_available": True, "usd_granted_balance": "0.00", "usd_topped_up_balance": "17.42"}
    r = run("moonshot", context("moonshot"), [fixture("moonshot/moonshot_balance.json")])
    assert r.details == {"currency": "USD", "voucher_balance": "46.58893", "cash_balance": "3.00001"}
    r = run("zai", context("zai"), [fixture("zai/zai_quota_limit.json")])
    assert r.details == {"plan": "Pro"}
    r = run("ollama", context("ollama"), [fixture("ollama/ollama_ps.json")])
    [m] = r.details["models"]
    assert m["name"] == "qwen2.5-coder:14b" and m["cpu_offload"] is False and m["context_length"] == 32768
    assert m["expires_at"] == "2026-08-20T12:08:11.836219+00:00"
    r = run("ollama", context("ollama"), [fixture("ollama/ollama_ps_empty.json")])
    assert r.details["models"] == [] and r.samples[0].status == "idle"
    r = run("mistral", context("mistral"), [fixture("mistral/mistral_headers.txt")])
    assert r.details == {"query_cost_tokens": "32007"}
    r = run("copilot_billing", context("copilot_billing", {"user": "octocat-dev"}),
                    [fixture("copilot/copilot_premium_request_usage.json")])
    assert r.details["net_usd"] == "0.0" and r.details["models"]["GPT-5"]["gross_usd"] == "6.38"


def test_llamacpp_metrics_and_loading() -> None:
    r = run("llamacpp", context("llamacpp"), answers(
        ["llamacpp/llamacpp_health_ok.json", "llamacpp/missing_models", "llamacpp/llamacpp_metrics.txt"]))
    assert r.details["metrics"]["prompt_tokens_total"] == 184220
    assert r.details["metrics"]["requests_processing"] == 1 and r.details["state"] == "ok"
    loading = fixture("llamacpp/llamacpp_health_loading.json", status=503)
    r = run("llamacpp", context("llamacpp"), [loading])
    assert r.outcome is Outcome.ERROR and "Loading model" in r.reason and r.details["state"] == "loading"
    assert r.samples == []


def test_mistral_real_headers_details_and_monthly_429() -> None:
    r = run("mistral", context("mistral"), [fixture("mistral/mistral_headers_2026.txt")])
    assert r.outcome is Outcome.OK and r.details == {"query_cost_tokens": "52"}
    r = run("mistral", context("mistral"), [fixture("mistral/mistral_429_month.txt")])
    w = by_window(r.samples)
    # the minute buckets are empty, the month is not: request-scoped
    assert r.outcome is Outcome.THROTTLED and r.retry_at == NOW + timedelta(seconds=2)
    assert (w["monthly"].limit, w["monthly"].remaining, w["monthly"].window_length_s) == (1e9, 12, None)
    assert w["tpm"].remaining == 0 and w["rpm"].remaining == 0 and w["rpm"].unit is Unit.REQUESTS


def test_moonshot_account_in_arrears_is_limited() -> None:
    r = run("moonshot", context("moonshot"), [fixture("moonshot/moonshot_balance_arrears.json")])
    assert r.outcome is Outcome.LIMITED and "top" in r.reason and "does not reset" in r.reason
    assert "-31.14918" in r.reason and r.retry_at is None
    assert by_window(r.samples)["balance"].remaining == 0
    assert r.details["cash_balance"] == "-31.14918"
    funded = run("moonshot", context("moonshot"), [fixture("moonshot/moonshot_balance.json")])
    assert funded.outcome is Outcome.OK and funded.reason == ""


def _key_without_flags() -> Any:
    import orjson

    from quotawarden.spec import Headers, HttpResponse

    body = orjson.loads(fixture("openrouter/openrouter_key.json").body)
    for flag in ("is_management_key", "is_provisioning_key"):
        del body["data"][flag]
    return HttpResponse(200, Headers({"content-type": "application/json"}), orjson.dumps(body))


def test_openrouter_zero_credits_are_unknown_not_an_empty_balance() -> None:
    r = run("openrouter", context("openrouter", {"credits": True}),
            [_key_without_flags(), fixture("openrouter/openrouter_credits_ordinary_key.json")])
    assert r.outcome is Outcome.OK and "credits" not in by_window(r.samples)
    assert r.details["credits"].startswith("unknown")


def test_openrouter_asks_credits_only_for_a_management_key() -> None:
    asked: list[str] = []

    def answer(req: Any) -> Any:
        asked.append(req.url)
        return fixture("openrouter/openrouter_key.json")  # is_management_key: false

    r = run("openrouter", context("openrouter", {"credits": True}), answer)
    assert [u.rsplit("/", 1)[1] for u in asked] == ["key"] and "credits" not in by_window(r.samples)
    assert r.details["credits"].startswith("not asked")
    asked.clear()
    run("openrouter", context("openrouter"), answer)
    assert len(asked) == 1


def test_groq_429_keeps_samples_and_retry() -> None:
    r = run("groq", context("groq"), [fixture("groq/groq_429.txt")])
    assert r.outcome is Outcome.THROTTLED and r.retry_at == NOW + timedelta(seconds=2)
    tpm = by_window(r.samples)["tpm"]
    assert tpm.remaining == 0 and tpm.used_ratio == 1.0


def test_balance_against_reference_is_estimated() -> None:
    r = run("xai", context("xai", {"team_id": "t1", "reference": 100}),
                    [fixture("xai/xai_prepaid_balance.json")])
    [s] = r.samples
    assert (s.remaining, s.limit, s.used, s.used_ratio) == (25.0, 100, 75.0, 0.75)
    assert s.provenance is Provenance.ESTIMATED
    r = run("deepseek", context("deepseek", {"reference": {"USD": 20}}),
                    [fixture("deepseek/deepseek_balance.json")])
    assert r.samples[0].provenance is Provenance.ESTIMATED and r.samples[0].used_ratio == pytest.approx(0.129)


ERRORS = [
    ("openrouter", "openrouter/openrouter_401.json", 401, CredentialError, "No auth credentials"),
    ("openrouter", "openrouter/openrouter_402.json", 402, RateLimited, "out of credits"),
    ("openrouter", "openrouter/openrouter_429.json", 429, RateLimited, "Rate limit exceeded"),
    ("deepseek", "deepseek/deepseek_401.json", 401, CredentialError, "Authentication Fails"),
    ("deepseek", "deepseek/deepseek_402.json", 402, RateLimited, "Insufficient Balance"),
    ("copilot", "copilot/copilot_401.json", 401, CredentialError, "Bad credentials"),
    ("zai", "zai/zai_401.json", 200, CredentialError, "Authorization Token missing"),
    ("zai", "zai/zai_401.json", 401, CredentialError, "Authorization Token missing"),
    ("minimax", "minimax/minimax_auth_error.json", 200, CredentialError, "login fail"),
    ("alibaba", "alibaba/console_need_login.json", 200, CredentialError, "ConsoleNeedLogin"),
]


@pytest.mark.parametrize(("slug", "name", "status", "exc", "text"), ERRORS,
                         ids=[f"{e[0]}-{e[2]}-{e[1].split('/')[1]}" for e in ERRORS])
def test_error_fixtures(slug: str, name: str, status: int, exc: type[QuotawardenError], text: str) -> None:
    with pytest.raises(exc) as info:
        run(slug, context(slug, {"user": "u"} if slug == "copilot_billing" else {}),
                    [fixture(name, status=status)])
    assert text in str(info.value) and SECRET not in str(info.value)


@pytest.mark.parametrize("slug", ["openrouter", "deepseek", "moonshot", "kimi", "copilot", "zai", "minimax",
                                  "alibaba", "ollama", "xai"])
def test_malformed_body(slug: str) -> None:
    from quotawarden.spec import Headers, HttpResponse

    settings = {"team_id": "t"} if slug == "xai" else {}
    bad = HttpResponse(200, Headers({"content-type": "application/json"}), b"{\"data\": [1,")
    with pytest.raises(MalformedResponse):
        run(slug, context(slug, settings), [bad])


def test_out_of_range_values_are_rejected_with_reason(caplog: pytest.LogCaptureFixture) -> None:
    from quotawarden.spec import Headers, HttpResponse

    body = (b'{"code":200,"success":true,"data":{"limits":[{"type":"TOKENS_LIMIT","unit":3,"number":5,'
            b'"percentage":1700000000,"nextResetTime":1787245200000},{"type":"TOKENS_LIMIT","unit":6,"number":1,'
            b'"percentage":12,"nextResetTime":1787562000000}]}}')
    r = run("zai", context("zai"), [HttpResponse(200, Headers({}), body)])
    assert [s.window for s in r.samples] == ["7d"]
    assert "outside 0..100" in r.details["rejected"][0] and "outside 0..100" in caplog.text
    neg = b'{"is_available":true,"balance_infos":[{"currency":"USD","total_balance":"-3.00"}]}'
    r = run("deepseek", context("deepseek"), [HttpResponse(200, Headers({}), neg)])
    assert r.samples[0].remaining == -3.0  # a balance may be a debt
    remains = (b'{"model_remains":[{"model_name":"m","start_time":1787230800000,"end_time":1787248800000,'
               b'"current_interval_total_count":100,"current_interval_usage_count":-5}],"base_resp":{"status_code":0}}')
    r = run("minimax", context("minimax"), [HttpResponse(200, Headers({}), remains)])
    assert r.samples == [] and "negative remaining" in r.details["rejected"][0]


def test_base_url_replaces_host_and_keeps_prefix() -> None:
    seen: list[str] = []

    def answer(req: Any) -> Any:
        seen.append(req.url)
        return fixture("deepseek/deepseek_balance.json")

    run("deepseek", context("deepseek", base_url="http://127.0.0.1:9/gw"), answer)
    assert seen == ["http://127.0.0.1:9/gw/user/balance"]


@pytest.mark.parametrize(("length_s", "name"), [
    (18000, "5h"), (604800, "7d"), (86400, "daily"), (30 * 86400, "monthly"), (28 * 86400, "monthly"),
    (31 * 86400, "monthly"), (60, "1m"), (3 * 3600, "3h"), (14 * 86400, "14d"), (90, "90s")])
def test_windows_are_named_by_their_length(length_s: int, name: str) -> None:
    from quotawarden.domain import window_name

    assert window_name(length_s) == name

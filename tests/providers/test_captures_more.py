"""Answers real users captured (see each folder's SOURCES.md) parse to the numbers they show."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from quotawarden.domain import Outcome, Unit
from tests.providers.more_kit import NOW, by_window, context, fixture, run


def test_deepseek_real_cny_balance() -> None:
    """Yachiyo-5i/xLyra#74: a live CNY answer, amounts as strings."""
    r = run("deepseek", context("deepseek"), [fixture("deepseek/deepseek_balance_cny_2026_09.json")])
    s = by_window(r.samples)["balance_cny"]
    assert (s.unit, s.remaining) == (Unit.CNY, 47.44) and r.outcome is Outcome.OK
    assert r.details["is_available"] is True
    assert Decimal(r.details["cny_topped_up_balance"]) == Decimal("47.44")
    assert Decimal(r.details["cny_granted_balance"]) == 0


def test_deepseek_real_usd_balance_against_a_reference() -> None:
    """robinebers/openusage#467: a USD balance of 3.55; against a 20 USD top-up, 16.45 are spent."""
    r = run("deepseek", context("deepseek", {"reference": {"USD": 20}}),
            [fixture("deepseek/deepseek_balance_usd_2026_05.json")])
    s = by_window(r.samples)["balance_usd"]
    assert (s.unit, s.remaining) == (Unit.USD, 3.55)
    assert s.used_ratio is not None and abs(s.used_ratio - (20 - 3.55) / 20) < 1e-9


def test_ollama_real_ps_answer() -> None:
    """nirmato/nirmato-ollama#13: one model fully in VRAM, nanosecond expiry with a +02:00 offset."""
    r = run("ollama", context("ollama", secret=None), [fixture("ollama/ollama_ps_gemma3_2025_08.json")])
    (model,) = r.details["models"]
    assert model["name"] == "gemma3:latest" and model["size_bytes"] == model["vram_bytes"] == 5964735424
    assert model["cpu_offload"] is False and "context_length" not in model
    assert datetime.fromisoformat(model["expires_at"]) == datetime(2025, 8, 7, 22, 7, 26, 817827, tzinfo=UTC)
    assert (model["parameter_size"], model["quantization_level"]) == ("4.3B", "Q4_K_M")
    assert r.samples[0].status == "ok"


def test_groq_real_headers() -> None:
    """drnic/groq-ruby#9: requests per day and tokens per minute with Go-style resets (`1.559999999s`)."""
    r = run("groq", context("groq"), [fixture("groq/groq_headers_2024_04.txt")])
    w = by_window(r.samples)
    assert (w["rpd"].limit, w["rpd"].remaining, w["rpd"].used) == (14400, 14399, 1)
    assert (w["tpm"].limit, w["tpm"].remaining, w["tpm"].used) == (7000, 6818, 182)
    assert w["rpd"].resets_at == NOW + timedelta(seconds=6)
    assert w["tpm"].resets_at == NOW + timedelta(seconds=1.559999999)
    assert r.outcome is Outcome.OK


def test_groq_real_429_without_headers_retries_when_the_message_says() -> None:
    """danielmiessler/Fabric#364: no Retry-After, but "Please try again in 50.597142857s"."""
    r = run("groq", context("groq"), [fixture("groq/groq_429_tpm_2024_04.json", status=429)])
    assert r.outcome is Outcome.THROTTLED  # tokens per minute: request-scoped, the account is not benched
    assert r.retry_at == NOW + timedelta(seconds=50.597142857)


def test_openai_real_insufficient_quota_body_is_billing_not_a_rate_limit() -> None:
    """NVIDIA-NeMo/Guardrails#371 and others: the 429 `insufficient_quota` body; retrying will not help."""
    r = run("openai", context("openai"), [fixture("openai/openai_429_insufficient_quota_2024_03.json", status=429)])
    assert r.outcome is Outcome.LIMITED and r.retry_at is None
    assert r.details["insufficient_quota"] is True


def test_llamacpp_real_metrics_and_older_loading_body() -> None:
    """ggml-org/llama.cpp#13196 (metrics) and #4860 (`{"status": "loading model"}` of older builds)."""
    ok = fixture("llamacpp/llamacpp_health_ok.json")
    metrics = fixture("llamacpp/llamacpp_metrics_2025_06.txt")
    from quotawarden.spec import Headers, HttpResponse

    r = run("llamacpp", context("llamacpp", secret=None), [ok, HttpResponse(404, Headers({}), b"{}"), metrics])
    assert r.details["metrics"] == {"prompt_tokens_total": 143, "tokens_predicted_total": 673}
    loading = fixture("llamacpp/llamacpp_health_loading_2024_01.json", status=503)
    r = run("llamacpp", context("llamacpp", secret=None), [loading])
    assert r.outcome is Outcome.ERROR and r.details["state"] == "loading" and "loading model" in r.reason

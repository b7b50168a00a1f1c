"""One reading per window: the freshest official source, the fresh sources beside it, disagreement over 2 points.

Readings come from recorded answers (tests/analysis/recorded.py): the proxy's unified headers and the OAuth usage
probe of the same Claude subscription.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from quotawarden.analysis import reconcile
from quotawarden.domain import Provenance, Source
from tests.analysis.recorded import header_samples, moved, probe_samples
from tests.conftest import NOW


def _claude_pair(header_ratio: float, probe_ratio: float, probe_age_s: float = 120):
    proxy = moved(header_samples("anthropic_unified_headers.txt", "c1", NOW)["5h"], NOW - timedelta(seconds=30),
                  header_ratio)
    probe = moved(probe_samples("claude", "anthropic_oauth_usage.json", "c1", NOW)["5h"],
                  NOW - timedelta(seconds=probe_age_s), probe_ratio)
    return proxy, probe


def test_header_and_probe_five_points_apart_disagree() -> None:
    proxy, probe = _claude_pair(0.47, 0.42)
    r = reconcile.reconcile([probe, proxy], NOW)[("c1", "5h")]
    assert r.sample.source is Source.PROXY and r.sample.used_ratio == 0.47  # the freshest official
    assert r.age_s == 30
    assert [(s.source, s.value) for s in r.sources] == [(Source.PROXY, 0.47), (Source.PROBE, 0.42)]
    assert r.disagreement is True
    j = reconcile.reading_json(r)
    assert j["disagreement"] is True and j["sources"][1] == {
        "source": "probe", "value": 0.42, "observed_at": "2026-08-20T14:01:11Z", "provenance": "official"}


def test_two_points_apart_agree() -> None:
    proxy, probe = _claude_pair(0.44, 0.42)
    assert reconcile.reconcile([probe, proxy], NOW)[("c1", "5h")].disagreement is False


def test_a_stale_source_is_left_out_and_cannot_disagree() -> None:
    proxy, probe = _claude_pair(0.60, 0.42, probe_age_s=reconcile.FRESH_S + 1)
    r = reconcile.reconcile([probe, proxy], NOW)[("c1", "5h")]
    assert [s.source for s in r.sources] == [Source.PROXY] and r.disagreement is False


def test_readings_of_different_windows_are_not_compared() -> None:
    """A probe read just before the reset, the proxy just after: two windows, not a disagreement."""
    proxy, probe = _claude_pair(0.02, 0.95)
    proxy = replace(proxy, resets_at=proxy.resets_at + timedelta(hours=5))
    assert reconcile.reconcile([probe, proxy], NOW)[("c1", "5h")].disagreement is False


def test_an_official_reading_wins_over_a_fresher_estimate() -> None:
    proxy, probe = _claude_pair(0.47, 0.42)
    estimate = replace(proxy, source=Source.LOG, provenance=Provenance.ESTIMATED, observed_at=NOW, used_ratio=0.9)
    r = reconcile.reconcile([probe, proxy], NOW, latest=[estimate])[("c1", "5h")]
    assert r.sample.source is Source.PROXY
    assert [s.source for s in r.sources] == [Source.PROXY, Source.PROBE, Source.LOG]  # listed, newest official first
    assert r.disagreement is True  # the estimate does not count, the two official readings do


def test_an_estimate_is_the_reading_when_nothing_official_exists() -> None:
    proxy, _ = _claude_pair(0.47, 0.42)
    estimate = replace(proxy, source=Source.LOG, provenance=Provenance.ESTIMATED)
    r = reconcile.reconcile([], NOW, latest=[estimate])[("c1", "5h")]
    assert r.sample.provenance is Provenance.ESTIMATED and r.disagreement is False


def test_a_short_window_is_fresh_for_its_length() -> None:
    proxy, _ = _claude_pair(0.47, 0.42)
    rpm = replace(proxy, window="rpm", window_length_s=60, observed_at=NOW - timedelta(seconds=90))
    assert reconcile.fresh_span(rpm) == 60 and not reconcile.is_fresh(rpm, NOW)
    assert reconcile.reconcile([rpm], NOW)[("c1", "rpm")].sources == ()

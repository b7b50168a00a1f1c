"""Provider anomalies on recorded sequences: jumps the usage seen does not explain, resets moving backward beyond
the 60 s jitter, refusals while every window reads below 100 %."""

from __future__ import annotations

from datetime import timedelta

from quotawarden.analysis import provider_anomalies as pa
from quotawarden.analysis.windows import SAME_WINDOW_JITTER_S
from tests.analysis.recorded import header_samples, moved, probe_samples
from tests.conftest import NOW

T0 = NOW - timedelta(minutes=30)


def _proxy_5h():
    return header_samples("anthropic_unified_headers.txt", "c1", T0)["5h"]


def _minutes(*ratios: float, every_s: float = 60.0):
    base = _proxy_5h()
    return [moved(base, T0 + timedelta(seconds=i * every_s), r) for i, r in enumerate(ratios)]


def test_a_jump_with_no_usage_seen_is_found_once_with_its_evidence() -> None:
    seq = _minutes(0.42, 0.43, 0.43, 0.61, 0.62, 0.62)
    found = pa.detect(seq)
    assert [a.kind for a in found] == [pa.JUMP]
    a = found[0]
    assert a.key == f"jump|c1|5h|proxy|{int(T0.timestamp())}" and a.window == "5h"
    assert a.at == seq[3].observed_at
    ev = a.evidence
    assert ev["before"]["used_ratio"] == 0.42 and ev["after"]["used_ratio"] == 0.61 and ev["rise_points"] == 19
    assert ev["usage"]["tokens"] == 0 and ev["expected"]["points"] == 0
    assert "not stored" in ev["raw"] and len(ev["readings"]) == 6
    assert pa.detect(seq) == found  # the same readings, the same anomaly (same key)


def test_a_jump_explained_by_the_usage_seen_is_not_an_anomaly() -> None:
    seq = _minutes(*(0.10 + 0.01 * i for i in range(20)), 0.47, 0.48)  # 1 point per minute, then +18
    uses = [pa.Use("c1", (T0 + timedelta(seconds=60 * i + 30)).timestamp(), 10_000) for i in range(19)]
    uses.append(pa.Use("c1", (T0 + timedelta(seconds=60 * 19 + 30)).timestamp(), 180_000))  # the burst behind it
    assert pa.detect(seq, uses) == []
    # the same rise with only the ordinary minute's usage: 22 points over five minutes, about 5 expected
    found = pa.detect(seq, [*uses[:-1], pa.Use("c1", uses[-1].ts, 10_000)])
    assert [a.kind for a in found] == [pa.JUMP]  # one episode: the reading after it does not count it again
    assert found[0].evidence["rise_points"] == 22 and found[0].evidence["expected"]["points"] == 5.26


def test_usage_but_no_rate_to_weigh_it_is_not_flagged() -> None:
    seq = _minutes(0.42, 0.42, 0.61)
    assert pa.detect(seq, [pa.Use("c1", (T0 + timedelta(seconds=90)).timestamp(), 5000)]) == []


def test_a_rise_spread_over_more_than_five_minutes_is_not_a_jump() -> None:
    assert pa.detect(_minutes(0.40, 0.44, 0.48, 0.52, 0.56, every_s=100)) == []


def test_reset_jitter_under_60s_is_the_same_window_and_a_backward_move_is_found() -> None:
    """Codex's probe states its reset as a countdown: a few seconds of jitter; then it moves back ten minutes."""
    base = probe_samples("codex", "codex_wham_usage.json", "x1", T0)["5h"]
    seq = [moved(base, T0 + timedelta(minutes=i), 0.26, shift) for i, shift in
           enumerate((0, 3, -2, SAME_WINDOW_JITTER_S - 1, 0))]
    assert pa.detect(seq) == []
    seq.append(moved(base, T0 + timedelta(minutes=6), 0.27, -600))
    seq.append(moved(base, T0 + timedelta(minutes=7), 0.27, -601))  # the same moved-back reset: the same anomaly
    found = pa.detect(seq)
    assert [a.kind for a in found] == [pa.RESET_BACKWARD]
    assert found[0].evidence["moved_back_s"] == 600 and found[0].evidence["source"] == "probe"


def test_a_new_window_moves_the_reset_forward_and_is_no_anomaly() -> None:
    base = _proxy_5h()
    seq = [moved(base, T0, 0.99), moved(base, base.resets_at + timedelta(minutes=1), 0.01, 5 * 3600)]
    assert pa.detect(seq) == []


def test_a_429_while_every_window_reads_below_100_is_found_with_redacted_reasons() -> None:
    at = T0 + timedelta(minutes=5)
    read = header_samples("anthropic_unified_headers.txt", "c1", T0 + timedelta(minutes=4))  # 5h 42%, 7d 18%
    refusal = pa.Refusal("c1", at, "upstream answered 429 for sk-ant-api03-abcdefghijklmnopqrstuvwxyz1234",
                         {"key": "sk-ant-api03-abcdefghijklmnopqrstuvwxyz1234"})
    found = pa.detect(read.values(), refusals=[refusal])
    assert [a.kind for a in found] == [pa.LIMITED_BELOW_CAP]
    ev = found[0].evidence
    assert [r["used_ratio"] for r in ev["readings"]] == [0.42, 0.18]  # the overage window reads no level
    blob = str(found[0])
    assert "abcdefghijklmnop" not in blob and "sk-...1234" in blob
    assert found[0].key == f"limited_below_cap|c1|{int(at.timestamp())}"


def test_a_429_at_the_cap_is_no_anomaly() -> None:
    """The recorded exhausted-window 429 (5h at 108 %, rejected): a refusal the readings explain."""
    at = T0 + timedelta(minutes=5)
    read = header_samples("anthropic_unified_headers.txt", "c1", T0 - timedelta(minutes=5))  # 5h at 42%
    at_cap = header_samples("anthropic_unified_429_windows_only.txt", "c1", at)
    refusal = pa.Refusal("c1", at, "upstream answered 429")
    assert pa.detect([*read.values(), *at_cap.values()], refusals=[refusal]) == []


def test_a_refusal_with_no_recent_reading_says_nothing() -> None:
    read = header_samples("anthropic_unified_headers.txt", "c1", T0 - timedelta(hours=2))
    assert pa.detect(read.values(), refusals=[pa.Refusal("c1", T0, "upstream answered 429")]) == []

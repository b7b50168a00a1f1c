"""Token counts of OpenCode, Gemini CLI and Claude Code records against captures (``fixtures/*/SOURCES.md``), and
the ``blocks --json`` shape against ccusage's (``blocks.rs`` ``block_json``)."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from quotawarden.analysis.usage_report import ReportQuery, Row, build
from quotawarden.logsources.base import Parsed, ReaderContext
from quotawarden.logsources.claude_code import ClaudeCodeReader, subagent_file
from quotawarden.logsources.gemini_cli import read_whole as gemini_read
from quotawarden.logsources.opencode import output_with_reasoning, parse_message

HERE = Path(__file__).parent / "fixtures"
CAPTURES = [json.loads(line) for line in (HERE / "opencode" / "tokens_captures.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("cap", CAPTURES, ids=[f"{c['source']}:{c['tokens']['total']}" for c in CAPTURES])
def test_opencode_counts_reasoning_once_at_the_output_price(cap: dict[str, Any]) -> None:
    msg = {"id": "msg_x", "role": "assistant", "time": {"created": 1788286295120}, "modelID": "m",
           "providerID": "p", "tokens": cap["tokens"]}
    p = parse_message(msg)
    assert p is not None
    e, want = p.event, cap["want"]
    assert (e.input_tokens, e.output_tokens, e.reasoning_tokens, e.cache_read_tokens, e.cache_write_tokens) == \
        (want["input"], want["output"], want["reasoning"], want["cache_read"], want["cache_write"])


def test_opencode_14533_token_step_counts_14533() -> None:
    t = CAPTURES[0]["tokens"]
    out, _ = output_with_reasoning(t)
    assert t["input"] + out + t["cache"]["read"] + t["cache"]["write"] == t["total"] == 14533


def test_older_opencode_records_keep_reasoning_inside_output() -> None:
    # no ``total``: output already holds reasoning (older getUsage); the repository's older sample has none
    legacy = json.loads((HERE / "opencode_message_sample.json").read_text())
    assert "total" not in legacy["tokens"]
    assert output_with_reasoning({**legacy["tokens"], "reasoning": 40}) == (862, 40)
    # a ``total`` that is the sum without reasoning also means reasoning is inside output
    assert output_with_reasoning({"total": 110, "input": 50, "output": 60, "reasoning": 20}) == (60, 20)


def _gemini(tmp_path: Path, name: str) -> list[Parsed]:
    chats = tmp_path / "tmp" / "hash" / "chats"
    chats.mkdir(parents=True)
    shutil.copy(HERE / "gemini_cli" / name, chats / name)
    items = gemini_read(ReaderContext(chats / name, tmp_path / "tmp")).items
    return [i for i in items if isinstance(i, Parsed)]


def _row(p: Parsed) -> Row:
    e = p.event
    ts = e.ts.timestamp()
    return Row(ts // 3600 * 3600, e.consumer, None, e.project, e.session, e.model, 1, e.input_tokens,
               e.output_tokens, e.cache_write_tokens, e.cache_read_tokens, e.reasoning_tokens, 0.0, 0, 0.0, 0.0, 0,
               ts, ts)


def test_gemini_counts_like_ccusage(tmp_path: Path) -> None:
    (p,) = _gemini(tmp_path, "session-ccusage.jsonl")
    e = p.event
    # ccusage: input 3,808, output 23, cache read 11,526, 919 thought tokens priced as output; total 16,276
    assert (e.input_tokens, e.output_tokens, e.reasoning_tokens, e.cache_read_tokens) == (3808, 942, 919, 11526)
    day = build([_row(p)], ReportQuery("daily"), datetime(2026, 5, 18, tzinfo=UTC))["daily"][0]
    assert (day["inputTokens"], day["outputTokens"], day["cacheReadTokens"], day["reasoningTokens"],
            day["totalTokens"]) == (3808, 23, 11526, 919, 16276)


REAL_SESSION = "session-2026-04-28T06-38-af959950.json"


def test_gemini_counts_a_real_session_like_its_own_totals(tmp_path: Path) -> None:
    # a user's Gemini CLI 0.38 session (fixtures/gemini_cli/SOURCES.md): each message's ``total`` is
    # input + output + thoughts, ``input`` includes ``cached``
    items = _gemini(tmp_path, REAL_SESSION)
    got = [(p.message_id, p.event.input_tokens, p.event.cache_read_tokens, p.event.output_tokens,
            p.event.reasoning_tokens) for p in items]
    assert got == [("dd688b35-d645-4b66-9232-aaccb5f417a3", 67112, 0, 660, 606),
                   ("f89bbe20-0ccc-4c06-b202-df20c64c8983", 7244, 65220, 203, 81),
                   ("1b26992d-9570-416d-a2f9-da8f4aed021c", 2724, 44167, 387, 312),
                   ("6f8165ca-dc39-4c05-8cc3-918ded03abc1", 752, 46239, 129, 60)]
    assert {p.event.session for p in items} == {"af959950-3a64-4312-a0f0-c2abdc55122c"}
    day = build([_row(p) for p in items], ReportQuery("daily"), datetime(2026, 4, 29, tzinfo=UTC))["daily"][0]
    assert (day["inputTokens"], day["outputTokens"], day["cacheReadTokens"], day["reasoningTokens"],
            day["totalTokens"]) == (77832, 320, 155626, 1059, 67772 + 72667 + 47278 + 47120)


def test_gemini_reads_a_real_jsonl_session_state_file(tmp_path: Path) -> None:
    # verbatim lines of a Gemini CLI ``.jsonl`` file: header, a ``$set.messages`` batch, ``$set`` deltas
    (p,) = _gemini(tmp_path, "session-state-0731.jsonl")
    e = p.event
    assert (p.message_id, e.session, e.model) == ("1c0ed97a-ccfe-475b-9b12-231100785aa0",
                                                 "d90558c4-862b-4799-946b-4186a8294321", "gemini-3.1-pro-preview")
    assert (e.input_tokens, e.output_tokens, e.reasoning_tokens, e.cache_read_tokens) == (7, 9, 0, 0)


def test_gemini_jsonl_rewritten_turns_count_once_latest_copy_wins(tmp_path: Path) -> None:
    # the real session's messages written the ``.jsonl`` way: a turn appended before its tokens arrive and
    # rewritten after, another rewritten with larger tokens, one only inside a ``$set.messages`` batch
    doc = json.loads((HERE / "gemini_cli" / REAL_SESSION).read_text())
    m = {r["id"][:8]: r for r in doc["messages"]}
    header = {k: v for k, v in doc.items() if k != "messages"}
    early = {**m["f89bbe20"], "tokens": {**m["f89bbe20"]["tokens"], "output": 1, "total": 72546}}
    lines = [header, m["9f9ab780"], {k: v for k, v in m["dd688b35"].items() if k != "tokens"},
             {"$set": {"lastUpdated": "2026-04-28T06:40:14.092Z"}}, m["dd688b35"], early, m["f89bbe20"],
             {"$set": {"messages": [m["9f9ab780"], m["1b26992d"]]}}, m["6f8165ca"]]
    name = "session-2026-04-28T06-38-af959950.jsonl"
    (tmp_path / name).write_text("".join(json.dumps(r) + "\n" for r in lines))
    chats = tmp_path / "tmp" / "hash" / "chats"
    chats.mkdir(parents=True)
    shutil.move(tmp_path / name, chats / name)
    items = [i for i in gemini_read(ReaderContext(chats / name, tmp_path / "tmp")).items if isinstance(i, Parsed)]
    assert sorted((p.message_id[:8], p.event.output_tokens) for p in items) == \
        [("1b26992d", 387), ("6f8165ca", 129), ("dd688b35", 660), ("f89bbe20", 203)]
    assert len({p.event.dedup_key for p in items}) == 4


CLAUDE_SESSION = "4d5611e5-241a-462a-8d15-5122611a9569.jsonl"
CLAUDE_KEY = "msg_016xcKQRzQXv2gLKoiSyUZxc:req_011CY4TSxK7aKeeVwvVX81aP"


def _claude_read(path: Path, root: Path) -> list[Any]:
    lines = path.read_bytes().splitlines()
    fast = ClaudeCodeReader(ReaderContext(path, root)).records(lines)[0]
    slow = [i for line in lines for i in ClaudeCodeReader(ReaderContext(path, root)).feed(line)]
    assert len(fast) == len(slow)
    return fast


def _claude(tmp_path: Path, with_subagent_file: bool) -> list[Any]:
    proj = tmp_path / "projects" / "-home-USER-projects-spotter-worktrees-spotter-dov"
    proj.mkdir(parents=True)
    session = proj / CLAUDE_SESSION
    shutil.copy(HERE / "claude_code" / "agent_progress.jsonl", session)
    if with_subagent_file:
        sub = subagent_file(session, "a2898e3")
        sub.parent.mkdir(parents=True)
        shutil.copy(HERE / "claude_code" / "agent-a2898e3.jsonl", sub)
    return _claude_read(session, tmp_path / "projects")


def test_agent_progress_bills_only_without_the_subagent_file(tmp_path: Path) -> None:
    # a real 2.1.39 ``agent_progress`` line and the same call in the sub-agent's own file (SOURCES.md)
    (r,) = _claude(tmp_path / "a", with_subagent_file=False)
    assert r[0] == CLAUDE_KEY
    assert (r[10], r[11], r[12], r[14], r[20]) == (3, 3, 13522, 0, True)  # a sidechain copy under the same key
    assert _claude(tmp_path / "b", with_subagent_file=True) == []
    sub = subagent_file(tmp_path / "b" / "projects" / "-home-USER-projects-spotter-worktrees-spotter-dov" /
                        CLAUDE_SESSION, "a2898e3")
    (own,) = _claude_read(sub, tmp_path / "b" / "projects")
    assert own[0] == CLAUDE_KEY and own[10:15] == r[10:15]  # the sub-agent file bills it, once, under that key


BLOCK_KEYS = ["id", "startTime", "endTime", "actualEndTime", "isActive", "isGap", "entries", "tokenCounts",
              "totalTokens", "costUSD", "models", "burnRate", "projection"]


def test_blocks_have_ccusage_fields_and_gap_blocks() -> None:
    def row(ts: float, out: int) -> Row:
        return Row(ts // 3600 * 3600, "claude_code", None, "p", None, "claude-sonnet-4-5", 2, 10, out, 100, 1000, 0,
                   0.5, 0, 0.0, 0.5, 0, ts, ts + 600)

    t0 = datetime(2026, 8, 20, 9, 15, tzinfo=UTC).timestamp()
    now = datetime.fromtimestamp(t0 + 12 * 3600 + 1800, UTC)
    data = build([row(t0, 20), row(t0 + 12 * 3600, 40)], ReportQuery("blocks"), now)
    first, gap, last = data["blocks"]
    for b in (first, gap, last):
        assert [k for k in b if k in BLOCK_KEYS] == BLOCK_KEYS
    assert first["id"] == first["startTime"] == "2026-08-20T09:00:00.000Z"
    assert first["endTime"] == "2026-08-20T14:00:00.000Z" and first["actualEndTime"] == "2026-08-20T09:25:00.000Z"
    assert first["tokenCounts"] == {"inputTokens": 10, "outputTokens": 20, "cacheCreationInputTokens": 100,
                                    "cacheReadInputTokens": 1000, "reasoningTokens": 0}
    assert (first["entries"], first["totalTokens"], first["costUSD"], first["models"]) == \
        (2, 1130, 0.5, ["claude-sonnet-4-5"])
    assert (first["isActive"], first["isGap"], first["burnRate"], first["projection"]) == (False, False, None, None)
    # ccusage: a gap block from 5 h after the last entry to the next entry, id "gap-<start>", empty
    assert gap == {**gap, "id": "gap-2026-08-20T14:25:00.000Z", "startTime": "2026-08-20T14:25:00.000Z",
                   "endTime": "2026-08-20T21:15:00.000Z", "actualEndTime": None, "isGap": True, "entries": 0,
                   "totalTokens": 0, "costUSD": 0.0, "models": []}
    assert last["isActive"] is True
    assert set(last["burnRate"]) == {"tokensPerMinute", "tokensPerMinuteForIndicator", "costPerHour"}
    assert last["burnRate"]["tokensPerMinute"] == pytest.approx(1150 / 10)
    assert last["projection"]["remainingMinutes"] == 255  # 21:45 to the block end at 02:00
    assert orjson.loads(orjson.dumps(data)) == data


BLOCK_CAPTURES = [json.loads(line) for line in (HERE / "ccusage" / "blocks_active.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("cap", BLOCK_CAPTURES, ids=[c["capture"][-10:] for c in BLOCK_CAPTURES])
def test_active_block_matches_recorded_ccusage_output(cap: dict[str, Any]) -> None:
    # recorded ``ccusage blocks --active --json`` outputs (fixtures/ccusage/SOURCES.md)
    (theirs,) = cap["output"]["blocks"]
    t0 = datetime(2026, 8, 20, 9, 15, tzinfo=UTC).timestamp()
    row = Row(t0 // 3600 * 3600, "claude_code", None, "p", None, "claude-sonnet-4-5", 2, 10, 20, 100, 1000, 0, 0.5,
              0, 0.0, 0.5, 0, t0, t0 + 600)
    (ours,) = build([row], ReportQuery("blocks"), datetime.fromtimestamp(t0 + 1800, UTC))["blocks"]
    assert set(theirs) <= set(BLOCK_KEYS) and set(theirs) | {"startTime"} == set(BLOCK_KEYS)
    assert set(theirs["tokenCounts"]) == set(ours["tokenCounts"]) - {"reasoningTokens"}
    assert set(theirs["burnRate"]) == set(ours["burnRate"]) and set(theirs["projection"]) == set(ours["projection"])
    # the rules quotawarden follows hold in ccusage's own numbers: totalTokens is the sum of the four counts,
    # the projection adds the burn rate over the minutes left
    rate, proj = theirs["burnRate"], theirs["projection"]
    assert theirs["totalTokens"] == sum(theirs["tokenCounts"].values())
    assert proj["totalTokens"] == round(theirs["totalTokens"] + rate["tokensPerMinute"] * proj["remainingMinutes"])
    assert proj["totalCost"] == round((theirs["costUSD"] + rate["costPerHour"] / 60 * proj["remainingMinutes"])
                                      * 100) / 100
    tc = ours["tokenCounts"]
    assert ours["totalTokens"] == tc["inputTokens"] + tc["outputTokens"] + tc["cacheCreationInputTokens"] + \
        tc["cacheReadInputTokens"] + tc["reasoningTokens"]
    assert ours["projection"]["totalTokens"] == round(ours["totalTokens"] + ours["burnRate"]["tokensPerMinute"] *
                                                      ours["projection"]["remainingMinutes"])

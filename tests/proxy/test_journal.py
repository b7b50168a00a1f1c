"""The usage journal on its own: a record is in the file the moment it is appended (a ``kill -9`` cannot take it),
a batch that reached the store leaves nothing behind, one that did not is kept on disk for replay, and group
commit (``[proxy] journal_sync``) syncs in the background only when asked for."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from quotawarden.config import from_text
from quotawarden.sources.proxy.journal import Journal
from quotawarden.sources.proxy.settings import proxy_config


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines()


def test_a_record_is_in_the_file_before_any_flush(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    journal.open()
    try:
        journal.append(b'{"k":"u","dedup_key":"a"}\n')
        journal.append(b'{"k":"u","dedup_key":"b"}\n')
        [segment] = tmp_path.glob("journal-*.jsonl")
        # read through a file of its own, as the next proxy would after a kill -9: the page cache has it
        assert _lines(segment) == [b'{"k":"u","dedup_key":"a"}', b'{"k":"u","dedup_key":"b"}']
    finally:
        journal.close()
    assert [p.name[:7] for p in tmp_path.iterdir()] == ["replay-"]


def test_by_default_no_sync_thread_and_a_stored_batch_leaves_nothing(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    journal.open()
    assert journal._thread is None  # nothing syncs in the background: a stored batch costs no disk write
    journal.append(b'{"k":"u","dedup_key":"a"}\n')
    segments = journal.rotate()
    assert [s.written for s in segments] == [1]
    for seg in segments:
        journal.seal(seg)
        assert seg.synced == 0
        journal.discard(seg)
    journal.close()
    assert list(tmp_path.iterdir()) == []


def test_a_batch_the_store_refused_is_synced_and_kept_for_replay(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    journal.open()
    journal.append(b'{"k":"u","dedup_key":"a"}\n')
    [seg] = journal.rotate()
    journal.seal(seg)
    kept = journal.keep(seg)
    assert seg.synced == seg.written == 1  # on disk before it is the only copy for a while
    assert kept.name.startswith("replay-") and _lines(kept) == [b'{"k":"u","dedup_key":"a"}']
    journal.close()


def test_group_commit_syncs_in_the_background(tmp_path: Path) -> None:
    journal = Journal(tmp_path, sync_s=0.01)
    journal.open()
    try:
        assert journal._thread is not None
        journal.append(b'{"k":"u","dedup_key":"a"}\n')
        first = journal._active
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            journal.append(b"")  # the loop switches to the prepared segment on its next record
            if first is not None and first.synced >= 1:
                break
            time.sleep(0.01)
        assert first is not None and first.synced >= 1
    finally:
        journal.close()


@pytest.mark.parametrize(("text", "seconds"), [("", 0.0), ('journal_sync = "50ms"', 0.05),
                                               ("journal_sync = 0", 0.0)])
def test_journal_sync_setting(text: str, seconds: float) -> None:
    from quotawarden.plugins import load_plugins

    cfg = from_text(f"[proxy]\n{text}\n", Path("qw.toml"), load_plugins())
    assert proxy_config(cfg.settings, [], {}, {}).journal_sync_s == seconds

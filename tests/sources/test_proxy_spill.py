"""What the proxy left outside the store: the folder it is in, and how many usage records wait there."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from quotawarden.sources import proxy_spill

URL = "postgresql+psycopg://qw:s3cret@db.internal:5432/quota"


def test_the_folder_is_the_stores_own_and_leaves_the_password_out(tmp_path: Path) -> None:
    data = str(tmp_path)
    folder = proxy_spill.spill_path(None, URL, data)
    assert folder.startswith(os.path.join(data, "proxy-spill", "postgresql-"))
    assert "s3cret" not in folder
    assert proxy_spill.spill_path(None, URL.replace("s3cret", "rotated"), data) == folder
    assert proxy_spill.spill_path(None, URL.replace("quota", "other"), data) != folder
    assert proxy_spill.spill_folder(None, URL, data) == Path(folder)
    assert proxy_spill.spill_path("~/spill", URL, data) == os.path.expanduser("~/spill")


def test_waiting_counts_usage_records_and_skips_a_live_journal(tmp_path: Path) -> None:
    data = str(tmp_path)
    assert proxy_spill.waiting(None, URL, data) == (0, None)  # no proxy ever ran: the folder is not even named
    folder = Path(proxy_spill.spill_path(None, URL, data))
    folder.mkdir(parents=True)
    assert proxy_spill.waiting(None, URL, data) == (0, str(folder))
    usage = b'{"k":"u","n":1}\n'
    (folder / "spill.jsonl").write_bytes(usage * 2 + b'{"k":"o"}\n')
    (folder / "replay-1-x.jsonl").write_bytes(usage)
    (folder / "journal-dead.jsonl").write_bytes(usage)
    (folder / "spill.jsonl.tmp").write_bytes(usage)  # not one of the proxy's files
    (folder / "notes.txt").write_bytes(usage)
    live = folder / "journal-live.jsonl"
    live.write_bytes(usage * 5)
    with open(live, "rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # a running proxy holds its journal
        count, files = proxy_spill.backlog(folder)
        assert count == 4
        assert [os.path.basename(f) for f in files] == ["journal-dead.jsonl", "replay-1-x.jsonl", "spill.jsonl"]
        assert proxy_spill.waiting(None, URL, data) == (4, str(folder))
        target = tmp_path / "moved"
        assert proxy_spill.move_folder(folder, target) == 3
    assert sorted(p.name.split("-", 2)[0] for p in target.iterdir()) == ["replay"] * 3
    assert proxy_spill.backlog(target)[0] == 4 and proxy_spill.backlog(folder)[0] == 5  # the live journal stayed

"""An expired Claude OAuth token is refreshed once, the usage is read, and the rotated tokens are written back."""

from __future__ import annotations

import json
import time
from pathlib import Path

from quotawarden.emulator import EmuAccount, Scenario, create_app, serve


def test_expired_token_is_refreshed_and_written_back(cli, tmp_path: Path) -> None:
    old_access = "sk-ant-oat01-expired000000000000000000000000000000000000"
    old_refresh = "sk-ant-ort01-single0000000000000000000000000000000000000"
    acct = EmuAccount("max", "claude", old_access, {"5h": 1, "7d": 1}, {"5h": 0.3, "7d": 0.1},
                      extra={"expires_at": time.time() - 60, "refresh_token": old_refresh})
    creds = tmp_path / ".credentials.json"
    creds.write_text(json.dumps({"claudeAiOauth": {"accessToken": old_access, "refreshToken": old_refresh,
                                                   "expiresAt": int((time.time() - 60) * 1000),
                                                   "scopes": ["user:profile"]}, "other": {"keep": 1}}))
    config = tmp_path / "config.toml"
    with serve(create_app(Scenario([acct]))) as url:
        config.write_text(f'[database]\nurl = "sqlite:///{tmp_path / "qw.db"}"\n\n[[accounts]]\nid = "max"\n'
                          f'provider = "claude"\ncredential = "file:{creds}"\nbase_url = "{url}"\nrefresh = true\n')
        code, out, err = cli("poll", "--json", config=config)
    result = json.loads(out)["poll"]["results"][0]
    assert code == 0 and result["outcome"] == "OK", result
    assert result["cost"]["requests"] == 2 and "_secret_update" not in result["details"]
    saved = json.loads(creds.read_text())
    assert saved["other"] == {"keep": 1}
    oauth = saved["claudeAiOauth"]
    assert oauth["accessToken"] != old_access and oauth["refreshToken"] != old_refresh
    assert oauth["expiresAt"] > time.time() * 1000 and oauth["scopes"] == ["user:profile"]
    assert oauth["accessToken"] not in out + err and oauth["refreshToken"] not in out + err

"""The schema section of docs/cli-json.md, generated from real ``--json`` output of every command.

    python scripts/cli_json.py          # run every command, rewrite the generated section of docs/cli-json.md
    python scripts/cli_json.py --check  # exit 1 when the doc and the real output disagree (the tests run this)

Every command runs through the real CLI against a throw-away world: the provider emulator's demo accounts (polled
once), a small Claude Code log tree, a key vault and a token-monitor log; nothing leaves the machine. Each
output's shape is written as a tree of keys and JSON types (``a | b``: seen as either; ``[]``: array items); a
command that cannot produce JSON here is listed with the reason. ``--check`` compares key paths and types: every
path and type of the real output must be in the doc and every documented path must be seen (``null`` alone
is not compared, it depends on what the data happens to hold).
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "cli-json.md"
BEGIN, END = "<!-- begin generated: scripts/cli_json.py -->", "<!-- end generated -->"
DYNAMIC = {"services", "by_source", "tags", "overall", "outcomes", "models", "counts", "by_provider", "by_model",
           "by_host"}
"""Objects keyed by data (provider names, sources, ...): documented as ``{name: value}`` rather than key by key."""

Schema = dict[str, Any]  # {"types": set[str], "keys": {name: Schema}, "items": Schema | None, "map": Schema | None}


def _new() -> Schema:
    return {"types": set(), "keys": {}, "items": None, "map": None}


def infer(value: Any, into: Schema | None = None, name: str = "") -> Schema:
    s = into if into is not None else _new()
    if isinstance(value, dict):
        s["types"].add("object")
        if name in DYNAMIC:
            for v in value.values():
                s["map"] = infer(v, s["map"])
        else:
            for k, v in value.items():
                s["keys"][k] = infer(v, s["keys"].get(k), k)
    elif isinstance(value, list):
        s["types"].add("array")
        for v in value:
            s["items"] = infer(v, s["items"], name)
    else:
        s["types"].add({bool: "boolean", int: "integer", float: "number", str: "string",
                        type(None): "null"}[type(value)])
    if {"integer", "number"} <= s["types"]:
        s["types"].discard("integer")
    return s


def paths(s: Schema, prefix: str = "") -> dict[str, set[str]]:
    out = {prefix or ".": set(s["types"])}
    for k, sub in s["keys"].items():
        out.update(paths(sub, f"{prefix}.{k}"))
    if s["items"] is not None:
        out.update(paths(s["items"], f"{prefix}[]"))
    if s["map"] is not None:
        out.update(paths(s["map"], f"{prefix}{{}}"))
    return out


def render(s: Schema, indent: int = 0) -> list[str]:
    lines = []
    for k, sub in s["keys"].items():
        lines.append(f"{'  ' * indent}{k}: {_types(sub)}")
        lines += _children(sub, indent + 1)
    return lines


def _children(s: Schema, indent: int) -> list[str]:
    lines = render(s, indent)
    if s["items"] is not None and (s["items"]["keys"] or s["items"]["items"] or s["items"]["map"]):
        lines += _children(s["items"], indent)
    if s["map"] is not None:
        lines += _children(s["map"], indent)
    return lines


def _types(s: Schema) -> str:
    order = ["object", "array", "string", "number", "integer", "boolean", "null"]
    parts = []
    for t in sorted(s["types"], key=order.index):
        if t == "array":
            inner = _types(s["items"]) if s["items"] is not None else "?"
            parts.append(f"[{inner}]" if s["items"] is None or not s["items"]["keys"] else "[object]")
        elif t == "object" and s["map"] is not None:
            parts.append(f"{{name: {_types(s['map'])}}}")
        else:
            parts.append(t)
    return " | ".join(parts)


def parse_doc(text: str) -> dict[str, dict[str, set[str]]]:
    """The generated section back as {command: {path: types}} (for --check)."""
    out: dict[str, dict[str, set[str]]] = {}
    section = text.split(BEGIN, 1)[1].split(END, 1)[0]
    for block in re.finditer(r"^### `quotawarden (?P<cmd>[^`]+)`\n+```text\n(?P<body>.*?)```", section, re.M | re.S):
        stack: list[str] = []
        found: dict[str, set[str]] = {}
        for line in block["body"].splitlines():
            if line.startswith("(top level)"):
                found["."] = _parse_types(line.split(":", 1)[1])
                continue
            depth = (len(line) - len(line.lstrip())) // 2
            key, _, types = line.strip().partition(": ")
            stack = [*stack[:depth], key]
            found[".".join(["", *stack])] = _parse_types(types)
        out[block["cmd"]] = found
    return out


def _parse_types(text: str) -> set[str]:
    return {("array" if t.startswith("[") else "object" if t.startswith("{") else t)
            for t in (p.strip() for p in re.split(r"\|(?![^\[{]*[\]}])", text.strip()))}


def _flat(s: Schema) -> tuple[dict[str, set[str]], set[str]]:
    """Key paths as the doc renders them (array items and map values fold into their parent's path), and the
    paths that held only empty arrays, empty maps or nulls (what lies under them could not be seen)."""
    out: dict[str, set[str]] = {".": _parse_types(_types(s))}
    unseen: set[str] = set()

    def walk(sub: Schema, prefix: str) -> None:
        if sub["types"] <= {"array", "object", "null"} and not sub["keys"] and sub["items"] is None \
                and sub["map"] is None:
            unseen.add(prefix or ".")
        for k, child in sub["keys"].items():
            out[f"{prefix}.{k}"] = _parse_types(_types(child))
            walk(child, f"{prefix}.{k}")
        for inner in (sub["items"], sub["map"]):
            if inner is not None:
                walk(inner, prefix)

    walk(s, "")
    return out, unseen


def _numeric(types: set[str]) -> set[str]:
    """0 and 0.5 are one JSON type for this comparison."""
    return {"number" if t == "integer" else t for t in types}


# -- the world the commands run in ---------------------------------------------------------------------------------

@contextmanager
def world() -> Iterator[dict[str, str]]:
    from quotawarden.app.service import build_service
    from quotawarden.emulator import create_app, demo_scenario, serve, write_demo_config
    from quotawarden.interfaces.api import create_app as api_app

    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="qw-cli-json-")))
        home = tmp / "home"
        (home / ".config").mkdir(parents=True)
        scenario = demo_scenario()
        base_url = stack.enter_context(serve(create_app(scenario)))
        config = write_demo_config(scenario, base_url, tmp, db_url=f"sqlite:///{tmp / 'qw.db'}")
        logs = tmp / "claude" / "projects" / "-demo"
        logs.mkdir(parents=True)
        logs.joinpath("s1.jsonl").write_text("".join(json.dumps({
            "type": "assistant", "isSidechain": False, "sessionId": "s1", "version": "2.0.14", "requestId": f"r{i}",
            "timestamp": f"2026-08-{10 + i % 5:02d}T09:00:00.000Z", "message": {
                "id": f"m{i}", "model": "claude-sonnet-4-5-20250929", "usage": {
                    "input_tokens": 5, "output_tokens": 10 + i, "cache_creation_input_tokens": 100,
                    "cache_read_input_tokens": 1000}}}) + "\n" for i in range(20)))
        hub_toml = tmp / "hub.toml"  # a hub the demo seat pushes to (`push`), read by `team`
        hub_toml.write_text('[[hub.seats]]\nname = "demo-seat"\ntoken = "seat-token-for-cli-json"\n')
        hub = build_service(hub_toml, store_url=f"sqlite:///{tmp / 'hub.db'}")
        hub_url = stack.enter_context(serve(api_app(hub)))
        with config.open("a") as f:
            f.write(f'\n[logs]\npaths = {{claude_code = ["{logs.parent}"]}}\n')
            f.write(f'\n[hub]\nurl = "{hub_url}"\ntoken = "seat-token-for-cli-json"\n')
        tm = tmp / "token-monitor.jsonl"
        tm.write_text(json.dumps({"ts": "2026-08-20T10:00:00Z", "provider": "claude", "status": "allowed",
                                  "utilization_5h": 0.42, "utilization_7d": 0.1, "account": "claude-max-alice"})
                      + "\n")
        yield {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), "XDG_DATA_HOME": str(home / ".data"),
               "QUOTAWARDEN_CONFIG": str(config), "QUOTAWARDEN_DB_URL": f"sqlite:///{tmp / 'qw.db'}",
               "QUOTAWARDEN_VAULT_PASSPHRASE": "correct horse battery staple", "QUOTAWARDEN_LOAD_PLUGINS": "",
               "TMP": str(tmp), "TOKEN_MONITOR": str(tm), "COLUMNS": "160", "NO_COLOR": "1"}


# (command as documented, argv after --json is added, stdin); in order: later ones read what earlier ones wrote
COMMANDS: list[tuple[str, list[str], str | None]] = [
    ("poll", ["poll", "--force"], None),
    ("status", ["status"], None),
    ("summary", ["summary"], None),
    ("next", ["next"], None),
    ("watch", ["watch"], None),
    ("providers", ["providers"], None),
    ("usage ingest", ["usage", "ingest"], None),
    *[(f"usage {k}", ["usage", k, "--no-ingest"], None) for k in ("daily", "weekly", "monthly", "session", "blocks")],
    ("alerts run", ["alerts", "run"], None),
    ("alerts list", ["alerts", "list"], None),
    ("alerts ack", ["alerts", "ack", "{alert_id}"], None),
    ("alerts digest", ["alerts", "digest"], None),
    ("alerts test", ["alerts", "test", "--channel", "json://127.0.0.1:9/none"], None),
    *[(f"analyze {k}", ["analyze", k], None) for k in ("burn", "schedule", "weekly", "underspend", "rotation",
                                                       "anomalies", "cost", "forecast", "tiers", "fairness",
                                                       "waste")],
    ("accounts list", ["accounts", "list"], None),
    ("accounts add", ["accounts", "add", "extra", "--provider", "openai", "--credential", "env:EXTRA_KEY"], None),
    ("accounts remove", ["accounts", "remove", "extra"], None),
    ("accounts discover", ["accounts", "discover"], None),
    ("import token-monitor", ["import", "token-monitor", "{TOKEN_MONITOR}"], None),
    ("config check", ["config", "check"], None),
    ("config show", ["config", "show"], None),
    ("config init", ["--config", "{TMP}/new.toml", "config", "init"], None),
    ("keys add", ["keys", "add", "spare", "--provider", "openai", "--stdin", "--no-validate"], "sk-test-0000spare"),
    ("keys list", ["keys", "list"], None),
    ("keys show", ["keys", "show", "spare"], None),
    ("keys rotate", ["keys", "rotate", "spare", "--stdin", "--no-validate"], "sk-test-1111spare"),
    ("keys import", ["keys", "import", "--dry-run"], None),
    ("keys remove", ["keys", "remove", "spare"], None),
    ("throttle list", ["throttle", "list"], None),
    ("throttle run", ["throttle", "run"], None),
    ("throttle release", ["throttle", "release", "nobody"], None),
    ("push", ["push"], None),
    ("team", ["--config", "{TMP}/hub.toml", "--db", "sqlite:///{TMP}/hub.db", "team"], None),
    ("jobs", ["jobs"], None),
    ("audit", ["audit"], None),
    ("evidence", ["evidence"], None),
    ("switch", ["switch", "--once", "{TMP}/opencode.json"], None),
    ("demo", ["demo", "--once"], None),
]


def run_all() -> dict[str, Schema | str]:
    """Each command's inferred schema, or why it produced no JSON here."""
    from typer.testing import CliRunner

    from quotawarden.interfaces.cli.app import build_app

    runner = CliRunner()
    out: dict[str, Schema | str] = {}
    with world() as env_extra:
        env = {**os.environ, **env_extra}
        Path(env["TMP"], "opencode.json").write_text('{"model": "anthropic/claude-sonnet-4-5"}\n')
        fill = dict(env_extra)
        for name, argv, stdin in COMMANDS:
            args = [a.format(**fill) if "{" in a and a != "{alert_id}" else a for a in argv]
            if "{alert_id}" in argv:
                ids = _first_alert(env)
                if ids is None:
                    out[name] = "no open alert to acknowledge in the demo world"
                    continue
                args = [str(ids) if a == "{alert_id}" else a for a in argv]
            result = runner.invoke(build_app(), [*args, "--json"], input=stdin or "", env=env_extra)
            try:
                data = json.loads(result.stdout)
            except ValueError:
                last = ((result.stderr or repr(result.exception)).strip().splitlines() or ["no output"])[-1]
                out[name] = f"no JSON here (exit {result.exit_code}: {last[:120]})"
                continue
            out[name] = infer(data)
    return out


def _first_alert(env: dict[str, str]) -> int | None:
    import subprocess

    proc = subprocess.run([sys.executable, "-m", "quotawarden.interfaces.cli.main", "alerts", "list", "--json"],
                          capture_output=True, text=True, env=env, timeout=120, check=False)
    try:
        data = json.loads(proc.stdout)
    except ValueError:
        return None
    rows = data.get("alerts", data) if isinstance(data, dict) else data
    open_ = [a for a in rows if isinstance(a, dict) and a.get("state") == "open"]
    return int(open_[0]["id"]) if open_ else None


def section(results: dict[str, Schema | str]) -> str:
    parts = [BEGIN, ""]
    for name, _, _ in COMMANDS:
        res = results[name]
        parts.append(f"### `quotawarden {name}`\n")
        if isinstance(res, str):
            parts.append(f"Not generated: {res}.\n")
            continue
        body = [f"(top level): {_types(res)}", *_children(res, 0)]
        parts.append("```text\n" + "\n".join(body) + "\n```\n")
    parts.append(END)
    return "\n".join(parts)


def check(doc: str, results: dict[str, Schema | str]) -> list[str]:
    documented = parse_doc(doc)
    problems = []
    for name, res in results.items():
        if isinstance(res, str):
            if name in documented:
                problems.append(f"{name}: documented, but produced no JSON: {res}")
            continue
        want = documented.get(name)
        got, unseen = _flat(res)
        if want is None:
            problems.append(f"{name}: not documented")
            continue
        for path, types in got.items():
            if path not in want:
                problems.append(f"{name}: {path} ({' | '.join(sorted(types))}) is not documented")
            elif not _numeric(types - {"null"}) <= _numeric(want[path]):
                problems.append(f"{name}: {path} is {sorted(types)}, documented {sorted(want[path])}")
        hidden = tuple("." if p == "." else p + "." for p in unseen)
        for path in want:
            if path not in got and not (path.startswith(hidden) or "." in unseen):
                problems.append(f"{name}: {path} is documented but not in the output")
    return problems


def main() -> int:
    results = run_all()
    text = DOC.read_text(encoding="utf-8")
    if "--check" in sys.argv:
        problems = check(text, results)
        for p in problems:
            print(p)
        if problems:
            print("docs/cli-json.md disagrees with the real output: run python scripts/cli_json.py")
        return 1 if problems else 0
    head, _, rest = text.partition(BEGIN)
    tail = rest.partition(END)[2]
    DOC.write_text(head + section(results) + tail, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Entry point. Short, latency-sensitive commands (``statusline``, ``summary``) skip the full CLI import."""

from __future__ import annotations

import sys
from collections.abc import Callable
from importlib import import_module

# command -> "module:function" taking argv; each must answer --help itself or defer to the full CLI
FAST_PATHS: dict[str, str] = {
    "summary": "quotawarden.interfaces.cli.summary:fast",
    "statusline": "quotawarden.interfaces.fast.statusline:main",
    "usage": "quotawarden.interfaces.cli.usage:fast",
    "status": "quotawarden.interfaces.cli.status_fast:fast",
    "serve": "quotawarden.interfaces.cli.serve:fast",
    "proxy": "quotawarden.interfaces.cli.proxy:fast",
}


_GLOBAL = {"-c": "QUOTAWARDEN_CONFIG", "--config": "QUOTAWARDEN_CONFIG", "--db": "QUOTAWARDEN_DB_URL"}


def _hoist_globals(args: list[str]) -> list[str]:
    """``qw -c FILE summary`` takes the fast path too: leading global options become the environment variables
    that every path reads (the full CLI reads the same ones)."""
    rest = list(args)
    found: dict[str, str] = {}
    while len(rest) >= 2 and rest[0] in _GLOBAL:
        found[_GLOBAL[rest[0]]] = rest[1]
        rest = rest[2:]
    if found and rest and rest[0] in FAST_PATHS:
        import os

        os.environ.update(found)
        return rest
    return args


INTERRUPTED = "interrupted"
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports it


def interrupted(what: str = INTERRUPTED) -> SystemExit:
    """Ctrl-C: one line on stderr (never a traceback) and exit 130."""
    sys.stderr.write(f"\n{what}\n" if sys.stderr.isatty() else f"{what}\n")
    sys.stderr.flush()
    return SystemExit(EXIT_INTERRUPTED)


def main(argv: list[str] | None = None) -> None:
    args = _hoist_globals(sys.argv[1:] if argv is None else argv)
    if args and args[0] in FAST_PATHS and "--help" not in args:
        mod, _, func = FAST_PATHS[args[0]].partition(":")
        try:
            code = getattr(import_module(mod), func)(args[1:])
        except KeyboardInterrupt:
            raise interrupted() from None
        raise SystemExit(code)
    full(args)


def _command(args: list[str]) -> str | None:
    """The command word after the root options (``-c FILE``, ``--db URL``); None when help is asked for."""
    rest = list(args)
    while rest and rest[0] in _GLOBAL:
        rest = rest[2:]
    while rest and rest[0].startswith(("--config=", "--db=")):
        rest = rest[1:]
    if not rest or any(a in ("--help", "-h") for a in rest):
        return None
    return rest[0]


def full(args: list[str]) -> None:
    """The typer CLI, with its last line of defence."""
    from quotawarden.interfaces.cli.app import build_app

    defended(lambda: build_app(_command(args))(args=args, prog_name="quotawarden"))


def defended(call: Callable[[], object]) -> None:
    """The CLI's last line of defence around ``call``: one-line errors, exit 130 on Ctrl-C (the CLI's own
    modules are imported only to say an error)."""
    from quotawarden.errors import QuotawardenError

    try:
        call()
    except QuotawardenError as exc:
        from quotawarden.interfaces.cli.common import fail

        fail(exc)
    except KeyboardInterrupt:
        raise interrupted() from None
    except Exception as exc:  # the last line of defence: one line, never a traceback, never a secret
        import os

        if os.environ.get("QUOTAWARDEN_DEBUG"):
            raise
        from quotawarden.interfaces.cli.common import fail

        fail(f"unexpected {type(exc).__name__}: {exc} (set QUOTAWARDEN_DEBUG=1 for the traceback)", 1)


if __name__ == "__main__":
    main()

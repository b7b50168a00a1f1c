"""``quotawarden statusline``: listed in ``--help`` and runnable after root options; the work is the fast path's
(``interfaces/fast/statusline.py``), which ``main.FAST_PATHS`` runs directly without importing typer."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import typer

HELP = ("Claude Code's status line: model, 5h and 7d used %, resets, today's cost.\n\n"
        "Set it in Claude Code's settings.json: \"statusLine\": {\"type\": \"command\", \"command\": "
        "\"quotawarden statusline\"}. Reads the JSON Claude Code pipes to stdin, stores its rate_limits as official "
        "readings and prints one line: model, 5h and 7d used % with time to reset, today's cost, burn rate. With "
        "no stdin it reads the store.")


def register(app: "typer.Typer") -> None:
    import os

    import typer

    @app.command("statusline", help=HELP)
    def statusline_cmd(ctx: typer.Context) -> None:
        from quotawarden.interfaces.fast import statusline

        state = ctx.find_root().obj
        for var, value in (("QUOTAWARDEN_CONFIG", state.config_path), ("QUOTAWARDEN_DB_URL", state.db_url)):
            if value:  # root options reach the fast path the way it reads them
                os.environ[var] = value
        code = statusline.main([])
        if code:
            raise typer.Exit(code)

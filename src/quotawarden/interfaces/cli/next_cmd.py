"""``quotawarden next``: which account (and model) to use now for a class of work, and why."""

from __future__ import annotations

import textwrap

import typer

from quotawarden.interfaces.cli.common import JsonOpt, console, fail, print_json, service

HELP = ("Which account (and model) to use now: included capacity that expires soonest while its pace allows it, "
        "paid fall-backs (API keys, credits, extra usage) only when no included capacity is left, local servers "
        "last for heavy work. Task classes, models and tier order come from [planner].")


def register(app: typer.Typer) -> None:
    @app.command("next", help=HELP)
    def next_cmd(
        ctx: typer.Context,
        task: str = typer.Option(None, "--task", help="Task class: heavy, light or one from [planner.tasks] "
                                                      "(default: [planner] default_task, heavy)."),
        pool: str = typer.Option(None, "--pool", help="Only this pool and its fallback tiers."),
        strategy: str = typer.Option(None, "--strategy", help="drain_soonest (default) or headroom."),
        json_out: bool = JsonOpt,
    ) -> None:
        from quotawarden.analysis.planner import plan_json

        try:
            p = service(ctx).next_account(task, pool, strategy=strategy)
        except ValueError as exc:
            fail(str(exc), 2)
        if json_out:
            print_json(plan_json(p))
            return
        out = console()

        def line(text: str, indent: str = "") -> None:  # wrapped at the terminal's width, continued under the text
            wrapped = textwrap.fill(text, out.width, initial_indent=indent, subsequent_indent=indent + "    ",
                                    break_long_words=False, break_on_hyphens=False)
            out.print(wrapped, markup=False, highlight=False, soft_wrap=True)

        best = p.best
        if best is None:
            line(p.reason())
            return
        model = f" with {best.model}" if best.model else ""
        line(f"use {best.account_id} ({best.provider}{model})")
        line(p.reason())
        for c in p.ranked[1:]:  # every option, as --json lists them
            line(f"then {p.reason(c)}", "  ")
        for acc, why in p.skipped:
            line(f"not {acc}: {why}", "  ")

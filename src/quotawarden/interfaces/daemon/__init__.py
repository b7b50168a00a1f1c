"""The long-running daemon's process: the `serve` launcher (scheduler, API and proxy in one process) and its client."""

STOP_GRACE_S = 60
"""How long SIGTERM or Ctrl-C waits for requests in flight (`serve`, `quotawarden proxy`): an LLM stream's usage
comes at its end, so a stop that cut streams short would lose calls the upstream already billed."""

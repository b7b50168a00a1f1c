"""The long-running daemon's process: the `serve` launcher (scheduler, API and proxy in one process) and its client."""

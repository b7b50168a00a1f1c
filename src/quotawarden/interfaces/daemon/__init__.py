"""The long-running daemon: scheduler, replica coordination and the ``serve`` runner."""

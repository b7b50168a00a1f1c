"""Stage 1 I/O: the probe runner, the piggyback proxy, the log tailer."""

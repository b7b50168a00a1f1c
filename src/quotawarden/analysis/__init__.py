"""Stage 3: pure functions over samples and usage events; ``now`` is always passed in."""

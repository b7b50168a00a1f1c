"""Stage 1 plug-ins: one pure module per provider (build requests, parse responses and headers)."""

"""Stage 1 plug-ins: one pure module per agent whose local logs record usage."""

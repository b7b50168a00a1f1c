"""Stage 4: alert rules and delivery, rotation, the OpenCode switcher, budgets, the vault."""

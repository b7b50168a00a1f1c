"""Stage 4: alert rules and delivery, key checks and rotation, the OpenCode switcher, budgets, autonomy, throttling."""

"""View models shared by the dashboard, ``watch`` and the MCP server: plain, JSON-ready dicts built from ``Service``.

Every number comes from a ``Service`` use case; these modules only select, order and shape it for display.
``table`` and ``status_text`` draw plain-text tables (no rich) that the full CLI and the fast paths share.
"""

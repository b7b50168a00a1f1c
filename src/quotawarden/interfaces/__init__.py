"""On top: the command line, the HTTP API, the dashboard, the MCP server and the fast paths; no business logic here."""

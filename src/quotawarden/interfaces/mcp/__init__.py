"""The MCP server: the same use cases as the dashboard, as tools and resources an agent can call."""

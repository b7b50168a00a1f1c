"""The web dashboard: server-rendered pages over the same ``Service`` as the API (see ``dashboard.mount``)."""

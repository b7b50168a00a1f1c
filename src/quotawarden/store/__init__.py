"""Stage 2: the store. SQLite by default, PostgreSQL for teams; one query module per concern."""

from quotawarden.store.engine import Store, open_store

__all__ = ["Store", "open_store"]

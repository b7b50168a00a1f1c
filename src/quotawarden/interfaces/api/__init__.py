"""The HTTP API (FastAPI), all under ``/v1``: quota-sentinel-compatible instance routes and our own."""

from quotawarden.interfaces.api.app import create_app

__all__ = ["create_app"]

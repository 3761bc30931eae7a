"""The HTTP face of the service: a JSON API under ``/api/v1`` (FastAPI, OpenAPI at
``/api/v1/openapi.json``), built by :func:`create_app` so the dashboard mounts on the same app.

``web/`` asks ``service/`` for everything; it never reaches into ``sync/``.
"""

from listingsync.web.api import API_PREFIX, create_app

__all__ = ["API_PREFIX", "create_app"]

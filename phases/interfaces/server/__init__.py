"""`dataraum serve`: the HTTP API and the dashboard (see app)."""

from __future__ import annotations

from pathlib import Path

from phases.interfaces.server.settings import ServerSettings, server_settings

__all__ = ["ServerSettings", "serve", "server_settings"]


def serve(settings: ServerSettings, root: Path | None = None) -> None:
    """Serve the project at `root` until interrupted."""
    import uvicorn

    from phases.interfaces.server.app import create_app

    app = create_app(root, settings)
    uvicorn.run(app, host=settings.host.strip("[]"), port=settings.port, log_level="warning", access_log=False)

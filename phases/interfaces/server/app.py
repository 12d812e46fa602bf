"""The FastAPI app of `dataraum serve`: the library API over HTTP under /api, and the
dashboard (the built files of ui/, shipped in ./static) at /.

Every route calls the functions the command line calls (phases.interfaces.api, .explore,
.runs); answers of the read routes are cached until the project's files change (see cache).
Errors are problem details carrying the command line's one-line message."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator, Callable
from importlib import metadata
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from swagger_ui_bundle import swagger_ui_path

from phases.core.errors import ConfigError, DataraumError, StateError
from phases.core.sources import discover_tables
from phases.engine import run_lock
from phases.engine.project import Project
from phases.interfaces import api, explore, runs
from phases.interfaces.server import models
from phases.interfaces.server.background import RunBusy, RunManager
from phases.interfaces.server.cache import AnswerCache, Fingerprint, files
from phases.interfaces.server.settings import ServerSettings

STATIC = Path(__file__).parent / "static"
PROBLEM = "application/problem+json"
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": models.Problem, "description": text}
    for code, text in ((401, "Missing or wrong bearer token"), (404, "Unknown source, table, column, phase or run"),
                       (409, "A run is in progress, or the state is not ready"))
}


def _problem(status: int, title: str, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    body = models.Problem(title=title, status=status, detail=detail).model_dump()
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def _status_of(exc: DataraumError) -> tuple[int, str]:
    if isinstance(exc, explore.UnknownName | runs.UnknownRun | api.ContextNotReady):
        return 404, "Not Found"
    if isinstance(exc, RunBusy | run_lock.ProjectBusy):
        return 409, "Conflict"
    if isinstance(exc, ConfigError):
        return 400, "Bad Request"
    if isinstance(exc, StateError):
        return 409, "Conflict"
    return 500, "Internal Server Error"


class Unauthorized(DataraumError):
    pass


class Server:
    """The state one app holds: the project root, the settings, the answer cache, the runs."""

    def __init__(self, root: Path, settings: ServerSettings) -> None:
        self.root = root
        self.settings = settings
        self.cache = AnswerCache(Fingerprint(root, self._data_folders))
        self.runs = RunManager(root, settings.jobs, self.cache.fingerprint.forget)
        self._project: tuple[int, Project] | None = None

    def _data_folders(self) -> list[Path]:
        """The CSV files of every source (a folder's own mtime changes when a file comes or goes).
        Loading the project costs half a second, so it is reloaded only when config/ changes."""
        config = hash(tuple(sorted(files(self.root / "config"))))
        if self._project is None or self._project[0] != config:
            self._project = (config, api.open_project(self.root))
        project = self._project[1]
        found: list[Path] = []
        for source in project.sources.values():
            tables = discover_tables(source, self.root)
            found.extend(ref.path for ref in tables)
            found.extend(sorted({ref.path.parent for ref in tables}))
        return found

    def check_token(self, request: Request) -> None:
        header = request.headers.get("authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(given.strip(), self.settings.token):
            raise Unauthorized("this route needs the server's token: send 'Authorization: Bearer TOKEN' "
                               "(printed by `dataraum serve`, or DATARAUM_TOKEN)")

    async def json(self, key: str, compute: Callable[[], Any]) -> Response:
        return Response(await self.cache.get(key, compute), media_type="application/json")


def create_app(root: Path | None = None, settings: ServerSettings | None = None) -> FastAPI:
    """The app for the project at `root` (default: found from the current folder up)."""
    server = Server(api.find_root(root), settings or ServerSettings())
    app = FastAPI(
        title="dataraum", version=_version(), docs_url=None, redoc_url=None, openapi_url="/openapi.json",
        description="Entropy context and pipeline status of a dataraum project. Reads are open on localhost; "
                    "every POST needs 'Authorization: Bearer TOKEN'.",
    )
    app.state.server = server
    _middleware(app, server.settings)
    _errors(app)

    async def read_access(request: Request) -> None:
        if server.settings.reads_need_token:
            server.check_token(request)

    async def write_access(request: Request) -> None:
        server.check_token(request)

    reads = APIRouter(prefix="/api", dependencies=[Depends(read_access)], responses=ERRORS)
    writes = APIRouter(prefix="/api", dependencies=[Depends(write_access)], responses=ERRORS)
    _read_routes(reads, server)
    _run_routes(reads, writes, server)
    app.include_router(reads)
    app.include_router(writes)
    _docs(app)
    _static(app)
    return app


def _version() -> str:
    try:
        return metadata.version("dataraum-context")
    except metadata.PackageNotFoundError:
        return "0"


def _middleware(app: FastAPI, settings: ServerSettings) -> None:
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(settings.allowed_hosts))
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins), allow_methods=["GET", "POST"],
                           allow_headers=["Authorization", "Content-Type"])

    app.add_middleware(SecurityHeaders)


class SecurityHeaders:
    """nosniff everywhere and a same-origin Content-Security-Policy (the dashboard loads nothing
    from elsewhere); a plain ASGI middleware, since Starlette's BaseHTTPMiddleware costs each
    request more than the cached answer itself."""

    POLICY = "default-src 'self'; img-src 'self' data:"

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = not scope["path"].startswith("/docs")  # the Swagger page loads its own script

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                if policy:
                    headers.setdefault("Content-Security-Policy", self.POLICY)
            await send(message)

        await self.app(scope, receive, sending)


def _errors(app: FastAPI) -> None:
    @app.exception_handler(DataraumError)
    async def dataraum_error(request: Request, exc: DataraumError) -> JSONResponse:
        if isinstance(exc, Unauthorized):
            return _problem(401, "Unauthorized", str(exc), {"WWW-Authenticate": "Bearer"})
        status, title = _status_of(exc)
        return _problem(status, title, str(exc))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
        if exc.status_code == 404:
            detail = f"no route {request.url.path}; the routes are listed at /docs"
        return _problem(exc.status_code, detail if exc.status_code != 404 else "Not Found", detail)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return _problem(422, "Unprocessable Content", f"{where}: {first.get('msg', 'invalid')}")


def _read_routes(router: APIRouter, server: Server) -> None:
    root = server.root

    @router.get("/info", response_model=models.Info, summary="The project, the version and the token rules")
    async def info() -> models.Info:
        return models.Info(project=root.name, version=_version(), reads_need_token=server.settings.reads_need_token,
                           running=server.runs.running)

    @router.get("/sources", response_model=models.SourceList, summary="Every source with its readiness")
    async def sources() -> Response:
        return await server.json("sources", lambda: models.SourceList(sources=explore.sources_overview(root=root)))

    @router.get("/sources/{source}", response_model=models.SourceDetail, summary="A source's tables and readiness")
    async def source(source: str) -> Response:
        return await server.json(f"source:{source}",
                                 lambda: models.SourceDetail(explore.source_overview(source, root=root)))

    @router.get("/sources/{source}/status", response_model=models.Status,
                summary="Each task: done, will run, failed or never run, with the reasons")
    async def status(source: str) -> Response:
        def compute() -> models.Status:
            explore.check_source(api.open_project(root), source)
            judged = api.pipeline_status(source, root=root).to_json()
            return models.Status(source=source, phases=judged["phases"], counts=judged["counts"],
                                 tasks=judged["tasks"], cells=judged["cells"], dag=explore.pipeline_dag(root=root),
                                 running=None)

        body = await server.cache.get(f"status:{source}", compute)
        if server.runs.running is None:
            return Response(body, media_type="application/json")
        data = json.loads(body)
        data["running"] = server.runs.running
        return JSONResponse(data)

    @router.get("/sources/{source}/entropy", response_model=models.SourceEntropy,
                summary="Source, table, column and relationship scores with the top findings")
    async def entropy(source: str) -> Response:
        return await server.json(f"entropy:{source}",
                                 lambda: models.SourceEntropy(explore.entropy_view(source, root=root)))

    @router.get("/sources/{source}/entropy/compare", response_model=models.Comparison,
                summary="What changed since the previous distinct entropy output")
    async def compare(source: str) -> Response:
        def compute() -> models.Comparison:
            explore.check_source(api.open_project(root), source)
            return models.Comparison(api.entropy_changes(source, root=root))

        return await server.json(f"compare:{source}", compute)

    @router.get("/sources/{source}/entropy/{table}", response_model=models.TableDetail,
                summary="A table's scores, its columns and every finding about it")
    async def table_entropy(source: str, table: str) -> Response:
        return await server.json(f"table:{source}:{table}",
                                 lambda: models.TableDetail(explore.table_view(source, table, root=root)))

    @router.get("/sources/{source}/entropy/{table}/{column}", response_model=models.ColumnDetail,
                summary="A column's findings with evidence, examples and guidance, and its profile")
    async def column_entropy(source: str, table: str, column: str) -> Response:
        return await server.json(
            f"column:{source}:{table}:{column}",
            lambda: models.ColumnDetail(explore.column_view(source, table, column, root=root)))

    @router.get("/sources/{source}/context", response_model=models.Context, summary="The context document")
    async def context(source: str, format: Literal["md", "json"] = "json") -> Response:
        def compute() -> models.Context:
            return models.Context(explore.context_view(source, format, root=root))

        return await server.json(f"context:{source}:{format}", compute)

    @router.get("/sources/{source}/metrics", response_model=models.MetricsDetail,
                summary="The business metrics with their verdicts, caveats and SQL")
    async def metrics(source: str) -> Response:
        return await server.json(f"metrics:{source}",
                                 lambda: models.MetricsDetail(explore.metrics_view(source, root=root)))

    @router.get("/sources/{source}/artifacts", response_model=models.Manifests, summary="Every task's manifest")
    async def artifacts(source: str) -> Response:
        return await server.json(
            f"artifacts:{source}",
            lambda: models.Manifests(source=source, manifests=explore.manifests(source, root=root)))

    @router.get("/sources/{source}/artifacts/{phase}/{artifact}", response_model=models.Preview,
                summary="A page of a Parquet artifact's rows")
    async def preview(source: str, phase: str, artifact: str, table: str | None = None,
                      limit: Annotated[int, Query(ge=0, le=explore.MAX_PREVIEW_ROWS)] = 50,
                      offset: Annotated[int, Query(ge=0)] = 0) -> Response:
        return await server.json(
            f"preview:{source}:{phase}:{artifact}:{table}:{limit}:{offset}",
            lambda: models.Preview(explore.preview(source, phase, artifact, table, limit, offset, root=root)))

    @router.get("/history", response_model=models.History, summary="Past task runs, newest first")
    async def history(source: str | None = None, limit: Annotated[int, Query(ge=1, le=1000)] = 50) -> Response:
        def compute() -> models.History:
            if source is not None:
                explore.check_source(api.open_project(root), source)
            found = api.history(source, limit, root=root)
            return models.History(entries=list(found.entries))

        return await server.json(f"history:{source}:{limit}", compute)


def _run_routes(reads: APIRouter, writes: APIRouter, server: Server) -> None:
    root = server.root
    manager = server.runs

    @reads.get("/runs", response_model=models.RunList, summary="The latest runs, newest first")
    async def list_runs(limit: Annotated[int, Query(ge=1, le=200)] = 20) -> models.RunList:
        stored = await server.cache.get(f"runs:{limit}", lambda: models.RunList(
            runs=runs.list_runs(root, limit), running=None))
        found = models.RunList.model_validate_json(stored)
        active = manager.active(manager.running) if manager.running else None
        if active is not None:
            return models.RunList(runs=(active.record(), *found.runs[:limit - 1]), running=active.id)
        return found

    @reads.get("/runs/{run_id}", response_model=models.Run, summary="A run: what was asked and each task's outcome")
    async def get_run(run_id: str) -> models.Run:
        active = manager.active(run_id)
        if active is not None and not active.done:
            return models.Run(active.record())
        try:
            return models.Run(runs.get_run(root, run_id))
        except runs.UnknownRun:
            if active is None:
                raise
            return models.Run(active.record(failed=True))  # it stopped before doit ran: not in the store

    @reads.get("/runs/{run_id}/events", summary="The run's events as Server-Sent Events, live while it runs",
               response_class=StreamingResponse,
               responses={200: {"content": {"text/event-stream": {}}, "description": "One event per task event"}})
    async def events(run_id: str, request: Request) -> StreamingResponse:
        after = int(request.headers.get("last-event-id", "-1")) + 1
        if manager.active(run_id) is None:
            runs.get_run(root, run_id)  # a 404 now, before the stream starts

        async def stream() -> AsyncIterator[bytes]:
            async for index, event in manager.events(run_id, after):
                yield f"id: {index}\nevent: {event['event']}\ndata: {json.dumps(event)}\n\n".encode()

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @writes.post("/runs", status_code=202, response_model=models.RunStarted,
                 summary="Start a run in the background (one at a time)")
    async def start_run(body: models.RunCreate) -> models.RunStarted:
        project = await asyncio.to_thread(api.open_project, root)
        if body.source is not None:
            explore.check_source(project, body.source)
        for phase in body.phases:
            explore.check_phase(project, phase)
        request = runs.RunRequest((body.source,) if body.source else (), tuple(body.phases), body.force)
        active = await manager.start(request)
        return models.RunStarted(id=active.id, events=f"/api/runs/{active.id}/events")

    @writes.post("/reset", response_model=models.ResetDone, summary="Forget tasks so that they rerun")
    async def reset(body: models.ResetCreate) -> models.ResetDone:
        manager.check_idle("reset")
        project = await asyncio.to_thread(api.open_project, root)
        if body.source is not None:
            explore.check_source(project, body.source)
        if body.phase is not None:
            explore.check_phase(project, body.phase)
        done = await asyncio.to_thread(api.reset, body.source, body.phase, downstream=body.downstream, root=root)
        server.cache.fingerprint.forget()
        return models.ResetDone(tasks=done.tasks)


def _docs(app: FastAPI) -> None:
    """Swagger UI from the swagger-ui-bundle package, not a CDN: the machine may be offline."""
    app.mount("/docs/assets", StaticFiles(directory=swagger_ui_path), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="dataraum API",
                                   swagger_js_url="/docs/assets/swagger-ui-bundle.js",
                                   swagger_css_url="/docs/assets/swagger-ui.css",
                                   swagger_favicon_url="/docs/assets/favicon-32x32.png")


def _static(app: FastAPI) -> None:
    index = STATIC / "index.html"
    if (STATIC / "assets").is_dir():
        app.mount("/assets", StaticFiles(directory=STATIC / "assets"), name="assets")

    @app.get("/", include_in_schema=False, response_model=None)
    async def page() -> Response:
        if index.is_file():
            return FileResponse(index, headers={"Cache-Control": "no-cache"})
        return HTMLResponse("<!doctype html><html><body><p>The dashboard is not built: run <code>npm ci &amp;&amp; "
                            "npm run build</code> in ui/.</p></body></html>")

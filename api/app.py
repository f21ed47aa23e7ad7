"""The FastAPI application. Built by `create_app(settings)`; nothing global."""
import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from cases import CaseNotFound, SessionNotFound, StoreError

from api.routes import cases, health, pages, search, sessions
from api.settings import Settings

log = logging.getLogger(__name__)


def create_app(settings: Settings) -> FastAPI:
    app = FastAPI(
        title="Bilu 笔录",
        description="Offline Chinese transcription for interview rooms: cases, sessions, transcripts, exports.",
        version="0.1.0",
    )
    app.state.settings = settings
    for module in (health, cases, sessions, search, pages):
        app.include_router(module.router)
    _map_errors(app)
    return app


def _map_errors(app: FastAPI) -> None:
    """Our input errors become 4xx here, in one place; the message says what was wrong."""

    @app.exception_handler(StoreError)
    async def store_error(request: Request, exc: StoreError) -> JSONResponse:
        status = 404 if isinstance(exc, (CaseNotFound, SessionNotFound)) else 422
        return JSONResponse({"detail": str(exc)}, status_code=status)

    @app.exception_handler(ValueError)
    async def value_error(request: Request, exc: ValueError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

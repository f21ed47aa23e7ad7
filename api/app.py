"""The FastAPI application. Built by `create_app(settings)`; nothing global."""
import asyncio
import contextlib
import logging

from fastapi import Depends, FastAPI
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from api import errors_http
from api.access import require_login
from engine.pipeline import Pipeline
from engine.recovery import start_recovery
from engine.rooms import LiveRooms
from agent.receiver import StreamReceiver
from agent.remote_start import StartListener
from api.routes import agents as agent_routes
from api.routes import (audio, auth, cases, findings, health, pages, people, rooms, search, sessions, speakers, units,
                        uploads, users, utterances)
from api.routes import integrity  # GET /sessions/{id}/verify
from api.routes import guardrails  # the case's procedure, a session's guardrails (issue 20)
from api.routes import signing  # the record's read-back and signatures (issue 20)
from api.routes import written  # the written record against the recording
from api.security import CookieSigner, load_secret_key
from engine.settings import Settings
from api.templating import STATIC_DIR
from engine.upload_worker import UploadWorker
from engine.work_queue import work_queue

log = logging.getLogger(__name__)


def create_app(settings: Settings, *, model=None) -> FastAPI:
    """`model`: an already loaded Whisper model to share (tests, benchmarks); by default loaded when first needed."""
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.upload_worker.start()
        recovering = None
        if app.state.work_queue is None:
            # Sessions left by a process that died (kill -9, power loss): claimed now, finished in the background.
            recovering = start_recovery(settings, lambda: app.state.pipeline.model)
        else:  # the workers finish them: a job for each session nobody holds
            await asyncio.to_thread(_send_abandoned, settings, app.state.work_queue)
        yield
        if app.state.work_queue is not None:
            app.state.work_queue.close()
        if recovering is not None:  # a recovery cut short is resumed at the next start
            await asyncio.to_thread(recovering.join, 10.0)
        # Uploads: the one being transcribed stops at its next utterance; it and those waiting are marked failed.
        await asyncio.to_thread(app.state.upload_worker.stop)
        if app.state.start_requests is not None:
            await asyncio.to_thread(app.state.start_requests.close)
        # Rooms still recording when the service stops: finish their sessions properly, keeping the audio.
        await asyncio.to_thread(app.state.rooms.stop_all)

    app = FastAPI(
        lifespan=lifespan,
        title="Bilu 笔录",
        description="离线中文讯问笔录转写：案件、讯问、笔录、导出。用 POST /auth/login 登录（Cookie），"
                    "或用 POST /auth/tokens 取得令牌后发送 `Authorization: Bearer 令牌`。",
        version="0.1.0",
        # Served below behind a login: even the API's shape is only for users.
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.settings = settings
    app.state.pipeline = Pipeline(settings, model=model)
    app.state.rooms = LiveRooms(settings, pipeline=app.state.pipeline)
    app.state.upload_worker = UploadWorker(settings, pipeline=app.state.pipeline)
    # BILU_BROKER_URL set: uploads are transcribed by `bilu worker` processes, not by the upload worker here.
    app.state.work_queue = work_queue(settings)
    app.state.agent_streams = StreamReceiver(settings, app.state.rooms)
    app.state.rooms.room_state = app.state.agent_streams.room_state  # a room agent's link, in the published status
    if app.state.rooms.relay is not None:  # GET /rooms on other nodes shows the rooms whose agents are here
        app.state.rooms.relay.watch_rooms(app.state.agent_streams.rooms_here)
    # BILU_BROKER_URL set: 开始录音 asked on another node for a room whose agent stands by here comes through Redis.
    app.state.start_requests = None if not settings.broker_url else StartListener(settings.broker_url,
                                                                                   app.state.agent_streams)
    app.state.cookie_signer = CookieSigner(load_secret_key(settings), max_age_s=int(settings.session_hours * 3600))
    for module in (health, auth, units, users, cases, people, sessions, utterances, speakers, findings, audio, search,
                   rooms, uploads, pages, integrity, agent_routes, guardrails, signing, written):
        app.include_router(module.router)
    # The pages' scripts and styles: public, like any site's (nothing in them is data).
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    _add_docs(app)
    errors_http.install(app)  # errors by kind: 4xx, 503 or 500 with an id; Chinese pages for pages
    return app


def _send_abandoned(settings: Settings, queue) -> None:
    try:
        with settings.open_store() as store:
            queue.submit_abandoned(store)
    except Exception:  # the service answers meanwhile; a worker starting up or `bilu recover` sends them again
        log.exception("sending the sessions left by a stopped process to the workers failed")


def _add_docs(app: FastAPI) -> None:
    @app.get("/openapi.json", include_in_schema=False, dependencies=[Depends(require_login)])
    def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())
    # /docs is a page (api/routes/pages.py): Swagger UI would load its scripts from another site.

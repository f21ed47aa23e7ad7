"""The demo case that `make run` shows a newcomer: a bundled two-seat recording, transcribed once."""
import logging
from importlib.resources import as_file, files

from cases import CaseNotFound, Store

from engine.pipeline import FileRequest, Pipeline
from api.progress import TerminalProgress
from engine.settings import Settings

log = logging.getLogger(__name__)

DEMO_CASE = "DEMO-0001"
DEMO_ROOM = "演示讯问室"
DEMO_SEAT_ROLES = ("讯问人", "被讯问人")


def ensure_demo(store: Store, settings: Settings) -> int:
    """The id of the demo session, transcribing the bundled recording first if it is not stored yet."""
    try:
        done = [s for s in store.list_sessions(DEMO_CASE) if s["status"] == "done"]
    except CaseNotFound:
        done = []
    if done:
        return done[0]["id"]
    store.ensure_case(DEMO_CASE, title="演示案件（示例录音）")
    with as_file(files("api") / "assets" / "demo_room_2seats.flac") as path, TerminalProgress() as progress:
        request = FileRequest(path=path, case_no=DEMO_CASE, room=DEMO_ROOM, seat_roles=DEMO_SEAT_ROLES)
        result = Pipeline(settings).transcribe_file(store, request, progress=progress.update)
    log.info("demo case %s transcribed: session %d", DEMO_CASE, result.session_id)
    return result.session_id

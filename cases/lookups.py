"""Lookups (and the two ensure-writes) that several concerns of the store need, as plain functions over the
connection: finding a case, a session, a unit or a user by what the caller gave; creating a case or a speaker
label on first use. The `ensure_*` functions run inside the caller's write transaction and audit what they
create through the caller's audit writer."""
import logging

from sqlite_utils import Database

from cases.actors import Actor
from cases.checks import check_case_no
from cases.errors import CaseNotFound, SessionNotFound, UnitNotFound, UserNotFound
from cases.reads import now_utc_iso, one
from cases.row_digests import speaker_subject

logger = logging.getLogger(__name__)


def case_id(db: Database, case_no: str) -> int:
    row = one(db, "SELECT id FROM cases WHERE case_no = ?", [case_no])
    if row is None:
        raise CaseNotFound(f"no case with case number {case_no!r}")
    return row["id"]


def checked_case_id(db: Database, case_no: str) -> int:
    """`case_id` after checking the number's form (InvalidCaseNumber for one that cannot exist)."""
    check_case_no(case_no)
    return case_id(db, case_no)


def require_session(db: Database, session_id: int) -> dict:
    """The session's id and status, or SessionNotFound."""
    row = one(db, "SELECT id, status FROM sessions WHERE id = ?", [session_id])
    if row is None:
        raise SessionNotFound(f"no session with id {session_id}")
    return row


def unit_row(db: Database, name: str) -> dict:
    row = one(db, "SELECT n.*, p.name AS parent_name FROM units n LEFT JOIN units p ON p.id = n.parent_id"
                  " WHERE n.name = ?", [name])
    if row is None:
        raise UnitNotFound(f"no unit named {name!r} (bilu units list shows them)")
    return row


def user_id(db: Database, name: str) -> int:
    row = one(db, "SELECT id FROM users WHERE name = ?", [name])
    if row is None:
        raise UserNotFound(f"no user named {name!r}")
    return row["id"]


def ensure_case_id(db: Database, audit, case_no: str, *, title: str | None, actor: Actor) -> int:
    """The case's id, the case created if missing ("case.created") or its empty title filled ("case.titled")."""
    check_case_no(case_no)
    row = one(db, "SELECT id, title FROM cases WHERE case_no = ?", [case_no])
    if row is None:
        cursor = db.execute("INSERT INTO cases (case_no, title, created_at) VALUES (?, ?, ?)",
                            [case_no, title, now_utc_iso()])
        audit.action(actor, "case.created", case_no=case_no)
        logger.info("created case %d", cursor.lastrowid)
        return int(cursor.lastrowid)
    if title is not None and not row["title"]:
        db.execute("UPDATE cases SET title = ? WHERE id = ?", [title, row["id"]])
        audit.action(actor, "case.titled", case_no=case_no)
    return row["id"]


def ensure_speaker(db: Database, audit, session_id: int, label: str, *, channel: int | None,
                   actor: Actor) -> None:
    """Create the session's speaker `label` if it is new (covered by a "speaker.added" entry)."""
    cursor = db.execute("INSERT OR IGNORE INTO speakers (session_id, label, channel) VALUES (?, ?, ?)",
                        [session_id, label, channel])
    if cursor.rowcount == 1:
        audit.cover_row("speaker.added", speaker_subject(session_id, label), actor=actor, session_id=session_id)

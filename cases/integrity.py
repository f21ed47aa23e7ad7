"""全程留痕: check that nothing stored was changed, deleted or inserted outside the application.

`verify(store)` walks the audit hash chain (cases/audit_chain.py) from its first entry, recomputing every
entry's content hash and link, then compares the latest entry about each stored row with the row as it is
now, and re-hashes the audio files. `check_export_code(store, code)` matches the 校验码 printed on an exported
record with the export's entry. `Exports.export_snapshot` makes that entry, in the same transaction as it
reads what is exported, so the code always describes exactly the rows the export was made from.

Limits, stated: someone able to rewrite the database could recompute the whole chain after an edit; the
exported and printed chain heads are what anchors it outside the database. Findings, speaker turns and the
search index are not covered (the application recomputes them); see cases/row_digests.py.
"""
import hashlib
import json
import logging
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from cases.audit_chain import GENESIS_HASH, entry_hash
from cases.concern import Concern, Shared
from cases.errors import SessionNotFound, StoreError, UnknownFormat
from cases.locking import locked
from cases.migrations import immediate_transaction
from cases.pg_database import is_postgres
from cases.reads import local_iso, read_utterances
from cases.sessions import Sessions
from cases.row_digests import (
    FILE_KINDS,
    ROW_KINDS,
    canonical_json,
    current_digests,
    session_subject,
    sha256_text,
    subject_kind,
)

logger = logging.getLogger(__name__)

__all__ = ["PROBLEM_KINDS", "Exports", "IntegrityReport", "Problem", "check_export_code", "session_digest",
           "signed_export", "verify"]

PROBLEM_KINDS = ("chain_broken", "changed", "deleted", "inserted", "audio_missing", "audio_changed")
MIN_CODE_HEX = 12
_HEX = re.compile(r"[0-9a-f]+")
_BLOCK = 1 << 20
# Audit columns and the key of the hashed content that must hold the same value.
_CONTENT_KEYS = (("at", "at"), ("user_id", "user_id"), ("user_name", "user"), ("action", "action"),
                 ("session_id", "session_id"), ("case_no", "case_no"), ("subject", "subject"),
                 ("subject_sha256", "subject_sha256"))

# The highest audit id ever appended, which a deletion of the last entries does not lower.
LAST_AUDIT_ID_SQLITE = "SELECT seq FROM sqlite_sequence WHERE name = 'audit'"
LAST_AUDIT_ID_PG = "SELECT last_id FROM audit_head"  # kept by a trigger (cases/pg_schema.py)

Progress = Callable[[int, int], None]
"""progress(bytes re-hashed so far, bytes to re-hash in all)."""


@dataclass(frozen=True, slots=True)
class Problem:
    kind: str  # one of PROBLEM_KINDS
    subject: str  # "audit:12", "utterance:5", "audio:3" ...
    detail: str


@dataclass(slots=True)
class IntegrityReport:
    session_id: int | None
    entries: int  # audit chain entries walked
    rows: int  # stored rows compared with their entries
    audio_files: int  # files re-hashed
    chain_head: str
    problems: list[Problem] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict:
        return {**asdict(self), "intact": self.intact}


@dataclass(slots=True)
class _Entry:
    id: int
    action: str
    session_id: int | None
    subject_sha256: str | None
    detail: dict


def session_digest(db, session_id: int) -> str:
    """One sha256 over the session's rows as stored now (which hold its audio files' hashes)."""
    return sha256_text(canonical_json(sorted(current_digests(db, session_id=session_id).items())))


def verify(store, *, session_id: int | None = None, progress: Progress | None = None) -> IntegrityReport:
    """`Exports.verify` of the store (kept as a function for the command line and the api)."""
    return store.exports.verify(session_id=session_id, progress=progress)


def check_export_code(store, code: str) -> dict:
    """`Exports.check_export_code` of the store."""
    return store.exports.check_export_code(code)


class Exports(Concern):
    """The export entry of the chain, made with the read of what is exported (the `Exports` concern)."""

    def __init__(self, shared: Shared, *, sessions: Sessions) -> None:
        super().__init__(shared)
        self._sessions = sessions

    # verify and check_export_code take the lock themselves: not while re-hashing hours of audio.

    def verify(self, *, session_id: int | None = None, progress: Progress | None = None) -> IntegrityReport:
        """Walk the whole chain; compare the rows and audio files (of one session, or all) with their entries.

        Raises SessionNotFound for a session that neither exists nor was ever recorded in the chain.
        """
        with self._lock:
            db = self._db
            db.conn.execute("BEGIN")  # one snapshot: the chain and the rows as of the same moment (WAL)
            try:
                count, head, problems, latest = _walk_chain(db, session_id=session_id)
                if session_id is not None and session_subject(session_id) not in latest and db.execute(
                        "SELECT 1 FROM sessions WHERE id = ?", [session_id]).fetchone() is None:
                    raise SessionNotFound(f"no session with id {session_id}, and none was ever recorded in the audit "
                                          "chain: give the id of an existing session")
                digests = current_digests(db, session_id=session_id)
            finally:
                db.conn.execute("COMMIT")
        problems += _compare_rows(latest, digests)
        files = [(subject, entry) for subject, entry in sorted(latest.items())
                 if subject_kind(subject) in FILE_KINDS and entry.subject_sha256 is not None]
        problems += _compare_files(self.home, files, progress)
        report = IntegrityReport(session_id=session_id, entries=count, rows=len(digests), audio_files=len(files),
                                 chain_head=head, problems=problems)
        logger.info("verify%s: %d entries, %d rows, %d files, %d problems", "" if session_id is None else
                    f" session {session_id}", count, report.rows, len(files), len(problems))
        return report

    def check_export_code(self, code: str) -> dict:
        """What a printed 校验码 (its first hex digits, at least 12) says today: which export it was, whether the
        chain up to that export is intact, and whether the session's rows still hash to what was exported."""
        wanted = code.strip().lower() if isinstance(code, str) else ""
        if len(wanted) < MIN_CODE_HEX or len(wanted) > 64 or not _HEX.fullmatch(wanted):
            raise StoreError(f"a 校验码 is {MIN_CODE_HEX} to 64 hexadecimal digits (0-9, a-f), as printed on the "
                             f"export; got {code!r}")
        with self._lock:
            db = self._db
            db.conn.execute("BEGIN")
            try:
                found = list(db.query("SELECT * FROM audit WHERE action = 'session.export' AND hash LIKE ?",
                                      [wanted + "%"]))
                if len(found) > 1:
                    raise StoreError(f"{len(found)} exports start with {wanted}: give more digits of the 校验码")
                if not found:
                    return {"found": False, "code": wanted, "same": False}
                entry = found[0]
                content = json.loads(entry["content"])
                _, _, problems, _ = _walk_chain(db, session_id=None, until_id=entry["id"])
                exported = content.get("detail", {}).get("session_digest")
                exists = db.execute("SELECT 1 FROM sessions WHERE id = ?", [entry["session_id"]]).fetchone()
                now = session_digest(db, entry["session_id"]) if exists else None
            finally:
                db.conn.execute("COMMIT")
        return {
            "found": True, "code": wanted, "entry_id": entry["id"], "chain_head": entry["hash"],
            "session_id": entry["session_id"], "case_no": entry["case_no"], "at": local_iso(entry["at"]),
            "user": entry["user_name"], "format": content.get("detail", {}).get("format"),
            "chain_intact": not problems, "chain_problems": [asdict(p) for p in problems],
            "session_digest_exported": exported, "session_digest_now": now,
            "same": not problems and exported is not None and exported == now,
        }

    @locked
    def export_snapshot(self, session_id: int, *, fmt: str, actor) -> dict:
        """The session, its utterances (and speaker turns for RTTM) and its `integrity` seal, read in the same
        transaction that appends the export's audit entry ("session.export"): `chain_head` is that entry's
        hash, `session_digest` the digest of the session's rows it was made from, `entries` the chain's length
        up to it."""
        with immediate_transaction(self._db):
            session = self._sessions.get_session(session_id)
            utterances = read_utterances(self._db, session_id)
            turns = self._sessions.speaker_turns(session_id) if fmt == "rttm" else None
            digest = session_digest(self._db, session_id)
            entry_id, head = self._audit.action(actor, "session.export", session_id=session_id,
                                                case_no=session["case_no"],
                                                detail={"format": fmt, "session_digest": digest})
            entries = self._db.execute("SELECT COUNT(*) FROM audit WHERE id <= ?", [entry_id]).fetchone()[0]
        return {"session": session, "utterances": utterances, "turns": turns,
                "integrity": {"chain_head": head, "session_digest": digest, "entries": entries}}


def signed_export(store, session_id: int, *, fmt: str, actor) -> tuple[str | bytes, dict]:
    """The session exported in `fmt` (an exports format, or "docx"), signed; returns (content, integrity).

    The export's audit entry is appended first, and its hash is what the export carries.
    """
    from cases.exports import FORMATS, export
    from cases.record_parties import record_parties

    if fmt not in (*FORMATS, "docx"):
        raise UnknownFormat(f"unknown export format {fmt!r}: use one of {', '.join((*FORMATS, 'docx'))}")
    snapshot = store.export_snapshot(session_id, fmt=fmt, actor=actor)
    session, utterances, integrity = snapshot["session"], snapshot["utterances"], snapshot["integrity"]
    # Exports of a read-back record carry its signatures and amendments (issue 20).
    review = store.record_review(session_id)
    if review["state"] is not None:
        session = {**session, "record_review": review}
    # The 讯问笔录's header names the officers and the person questioned (settings, not covered by the digest).
    parties = record_parties(store, session) if fmt in ("txt", "docx") else None
    if fmt == "docx":
        from cases.docx_export import export_docx  # python-docx is loaded only for this format

        return export_docx(session, utterances, integrity=integrity, parties=parties), integrity
    return export(fmt, session, utterances, turns=snapshot["turns"], integrity=integrity, parties=parties), \
        integrity


def _walk_chain(db, *, session_id: int | None, until_id: int | None = None
                ) -> tuple[int, str, list[Problem], dict[str, _Entry]]:
    """(entries walked, last hash, chain problems, latest entry per subject of the session or of all)."""
    problems: list[Problem] = []
    latest: dict[str, _Entry] = {}
    expected_prev, previous_id, count = GENESIS_HASH, 0, 0
    limit = "" if until_id is None else f"WHERE id <= {int(until_id)}"
    for row in db.query(f"SELECT * FROM audit {limit} ORDER BY id"):
        count += 1
        entry_id, content = row["id"], row["content"]
        wrong = []
        if row["content_sha256"] != sha256_text(content):
            wrong.append("its content was changed (it no longer matches its content_sha256)")
        elif row["hash"] != entry_hash(row["prev_hash"] or "", row["content_sha256"]):
            wrong.append("its hash does not match its content and link")
        try:
            parsed = json.loads(content)
        except (TypeError, ValueError):
            parsed = None
        if not isinstance(parsed, dict):
            wrong.append("its content is not the JSON the application writes")
            parsed = {}
        else:
            changed = [column for column, key in _CONTENT_KEYS if row[column] != parsed.get(key)]
            if changed:
                wrong.append(f"column {', '.join(changed)} differs from its hashed content")
        if wrong:
            problems.append(Problem("chain_broken", f"audit:{entry_id}", "; ".join(wrong)))
        if row["prev_hash"] != expected_prev:
            if entry_id > previous_id + 1:
                gone = f"{previous_id + 1}" if entry_id == previous_id + 2 else f"{previous_id + 1}-{entry_id - 1}"
                problems.append(Problem("chain_broken", f"audit:{gone}",
                                        f"entry {gone} was deleted: entry {entry_id} links to a hash no remaining "
                                        "entry has"))
            else:
                problems.append(Problem("chain_broken", f"audit:{entry_id}",
                                        f"its link does not match entry {previous_id}: an entry before it was "
                                        "replaced or inserted"))
        expected_prev, previous_id = row["hash"], entry_id
        subject = row["subject"]
        if subject is not None and (session_id is None or row["session_id"] == session_id):
            detail = parsed.get("detail") if isinstance(parsed.get("detail"), dict) else {}
            latest[subject] = _Entry(entry_id, row["action"], row["session_id"], row["subject_sha256"], detail)
    if until_id is None:
        issued = db.execute(LAST_AUDIT_ID_PG if is_postgres(db) else LAST_AUDIT_ID_SQLITE).fetchone()
        if issued is not None and issued[0] > previous_id:
            problems.append(Problem("chain_broken", f"audit:{previous_id + 1}",
                                    f"the last entries were deleted: the chain ends at {previous_id}, but ids up to "
                                    f"{issued[0]} were handed out"))
    return count, expected_prev, problems, latest


def _compare_rows(latest: dict[str, _Entry], digests: dict[str, str]) -> list[Problem]:
    problems = []
    subjects = {s for s in latest if subject_kind(s) in ROW_KINDS} | set(digests)
    for subject in sorted(subjects, key=_subject_order):
        entry, now = latest.get(subject), digests.get(subject)
        if entry is None:
            if now is not None:
                problems.append(Problem("inserted", subject, "no audit entry covers this row: it was written "
                                                             "outside the application"))
            continue
        if entry.subject_sha256 is None:
            if now is not None:
                problems.append(Problem("inserted", subject, f"the application deleted it (audit entry {entry.id}),"
                                                             " but the row is there again"))
            continue
        expected = entry.detail.get("row_sha256") if subject_kind(subject) == "segment" else entry.subject_sha256
        if now is None:
            problems.append(Problem("deleted", subject, f"the row that audit entry {entry.id} ({entry.action}) "
                                                        "covers is gone"))
        elif now != expected:
            problems.append(Problem("changed", subject, f"the row differs from what audit entry {entry.id} "
                                                        f"({entry.action}) recorded"))
    return problems


def _compare_files(home: Path, files: list[tuple[str, _Entry]], progress: Progress | None) -> list[Problem]:
    problems = []
    paths = [(subject, entry, home / str(entry.detail.get("path", ""))) for subject, entry in files]
    total = sum(path.stat().st_size for _, _, path in paths if path.is_file())
    done = 0
    for subject, entry, path in paths:
        if not entry.detail.get("path") or not path.is_file():
            problems.append(Problem("audio_missing", subject, f"{entry.detail.get('path')}: the file is gone"))
            continue
        digest = _sha256_file(path, lambda n: progress(done + n, total) if progress else None)
        size = path.stat().st_size
        done += size
        if digest != entry.subject_sha256:
            recorded = entry.detail.get("bytes")
            sizes = f"now {size} bytes" + ("" if recorded is None else f", {recorded} when stored")
            problems.append(Problem("audio_changed", subject,
                                    f"{entry.detail['path']}: its sha256 differs from audit entry {entry.id} ({sizes})"))
    if progress:
        progress(done, total)
    return problems


def _sha256_file(path: Path, on_block: Callable[[int], None]) -> str:
    digest, read = hashlib.sha256(), 0
    with open(path, "rb") as source:
        while block := source.read(_BLOCK):
            digest.update(block)
            read += len(block)
            on_block(read)
    return digest.hexdigest()


def _subject_order(subject: str) -> tuple:
    kind, _, rest = subject.partition(":")
    parts = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in rest.split(":"))
    return (kind, parts)

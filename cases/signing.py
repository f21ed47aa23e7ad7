"""Reading back and signing the 讯问笔录 (CPL 122; MPS 206): the `Signing` concern of the store (issue 20).

A finished session's record goes 记录核对 (state "review": the person reads it, or has it read to them) → 已签名
("signed") or 拒绝签名 ("refused", with the reason and the witnesses). While in review, anyone present signs:
strokes drawn on the signing page (stored as JSON and as a PNG drawn from them, cases/signature_image.py), or a
scanned signed PDF. "signed" needs the person questioned, a 讯问人 and the 记录人; "refused" needs the reason, at
least one witness, a 讯问人 and the 记录人. Once closed, the record is locked: a correction after it is kept (the
transcript is never frozen against a real error) but becomes an amendment (`note_amendment`, called by the
corrections in their own transaction) that the person questioned confirms by signing again (the 捺指印 beside a
correction); exports list the amendments and whether each was confirmed.

Signature files live under BILU_HOME/signatures/SESSION/; each is covered by an audit entry with its sha256
(subject "signature:SESSION:ID:strokes" or ":image"), so `bilu verify` re-hashes them and export packages carry
them. Names of signers are personal data: they go in the rows, never in the audit details.
"""
import json
import uuid
from pathlib import Path

from cases.actors import SYSTEM_ACTOR, Actor
from cases.audit import file_sha256
from cases.concern import Concern
from cases.errors import StoreError
from cases.locking import locked
from cases.lookups import require_session
from cases.migrations import immediate_transaction
from cases.reads import local_iso, now_utc_iso, one
from cases.signature_image import MAX_PAD_PX, strokes_png
from error_kinds import Conflict, NotFound

__all__ = ["REVIEW_STATES", "SIGNER_ROLES", "RecordLocked", "Signing", "note_amendment", "signature_subject"]

REVIEW_STATES = {"review": "记录核对", "signed": "已签名", "refused": "拒绝签名"}
DOCUMENTS = {"record": "讯问笔录", "fault_statement": "相关说明"}
"""What is read back and signed: the 讯问笔录, or the 相关说明 of a recording's faults (cases/fault_statement.py)."""
SIGNER_ROLES = ("被讯问人", "讯问人", "记录人", "翻译人员", "法定代理人", "合适成年人", "见证人")
REVIEWABLE_STATUSES = ("done", "recovered", "interrupted")
SIGNATURES_DIR = "signatures"
MAX_PDF_BYTES = 20 * 1024 * 1024
MAX_POINTS = 20_000
_MAX_NAME = 64
_MAX_TEXT = 500


class RecordLocked(Conflict, StoreError):
    """The record was signed (or the signing refused): it is locked; only an amendment's confirmation is signed."""

    code = "record_locked"


class ReviewNotFound(NotFound, StoreError):
    """No read-back was started for this session (or no such signature or amendment)."""

    code = "review_not_found"


def signature_subject(session_id: int, signature_id: int, part: str) -> str:
    return f"signature:{session_id}:{signature_id}:{part}"


def note_amendment(db, audit, session_id: int, *, revision_id: int, utterance_id: int | None, kind: str,
                   actor: Actor) -> None:
    """A correction of a locked record is an amendment: noted here, in the correction's own transaction."""
    review = one(db, "SELECT state FROM record_reviews WHERE session_id = ? AND document = 'record'", [session_id])
    if review is None or review["state"] == "review":
        return
    amendment_id = db.execute("INSERT INTO record_amendments (session_id, revision_id, utterance_id, kind, created_at)"
                              " VALUES (?, ?, ?, ?, ?)",
                              [session_id, revision_id, utterance_id, kind, now_utc_iso()]).lastrowid
    audit.action(actor, "record.amended", session_id=session_id,
                 detail={"amendment_id": amendment_id, "revision_id": revision_id})


class Signing(Concern):

    @locked
    def start_record_review(self, session_id: int, *, document: str = "record", note: str | None = None,
                            actor: Actor = SYSTEM_ACTOR) -> dict:
        """Open the read-back (记录核对) of a finished session's record, or of its 相关说明 (`document`
        "fault_statement", with the officers' `note` completing the draft)."""
        _check_document(document)
        note = _text("note", note, 2000)
        with immediate_transaction(self._db):
            status = require_session(self._db, session_id)["status"]
            if one(self._db, "SELECT withdrawn_at FROM sessions WHERE id = ?", [session_id])["withdrawn_at"]:
                # A withdrawn upload is kept for the record only (备查): its text must never become a signed 笔录.
                raise Conflict(f"session {session_id} was withdrawn: its record is kept for reference, not signed",
                               zh="该录音已撤回，仅供备查，不能核对签名")
            if status not in REVIEWABLE_STATUSES:
                raise Conflict(f"session {session_id} is {status}: only a finished record is read back and signed",
                               zh="讯问尚未结束，不能核对签名")
            if one(self._db, "SELECT 1 FROM record_reviews WHERE session_id = ? AND document = ?",
                   [session_id, document]) is not None:
                raise Conflict(f"the {document} of session {session_id} is already in read-back or closed",
                               zh=f"{DOCUMENTS[document]}已在核对或已签名")
            self._db.execute("INSERT INTO record_reviews (session_id, document, state, note, opened_at)"
                             " VALUES (?, ?, 'review', ?, ?)", [session_id, document, note, now_utc_iso()])
            self._audit.action(actor, "record.review_started", session_id=session_id, detail={"document": document})
        return self.record_review(session_id, document=document)

    @locked
    def add_signature(self, session_id: int, *, signer_role: str, signer_name: str, strokes: list | None = None,
                      width: int | None = None, height: int | None = None, pdf: bytes | None = None,
                      statement: str | None = None, amendment_id: int | None = None, document: str = "record",
                      actor: Actor = SYSTEM_ACTOR) -> dict:
        """One signature: `strokes` (with the pad's `width` and `height`) or a scanned `pdf`. With
        `amendment_id`, the person questioned confirms that amendment of a locked record."""
        _check_document(document)
        if amendment_id is not None and document != "record":
            raise StoreError("only the 讯问笔录 has amendments")
        if signer_role not in SIGNER_ROLES:
            raise StoreError(f"signer_role is one of {', '.join(SIGNER_ROLES)}, not {signer_role!r}")
        signer_name = _text("signer_name", signer_name, _MAX_NAME, required=True)
        statement = _text("statement", statement, _MAX_TEXT)
        if (strokes is None) == (pdf is None):
            raise StoreError("a signature is either strokes (drawn on the signing page) or a scanned PDF, one of the two")
        folder = self.home / SIGNATURES_DIR / str(session_id)
        stem = uuid.uuid4().hex
        written: list[Path] = []
        try:
            folder.mkdir(parents=True, exist_ok=True)
            if strokes is not None:
                strokes = _checked_strokes(strokes, width, height)
                strokes_path = folder / f"{stem}.strokes.json"
                strokes_path.write_text(json.dumps({"width": width, "height": height, "strokes": strokes},
                                                   ensure_ascii=False), encoding="utf-8")
                written.append(strokes_path)
                image_path = folder / f"{stem}.png"
                image_path.write_bytes(strokes_png(strokes, width=width, height=height))
            else:
                if not isinstance(pdf, bytes) or not pdf.startswith(b"%PDF-") or len(pdf) > MAX_PDF_BYTES:
                    raise StoreError(f"a scanned signature is a PDF file (starting %PDF-) of at most "
                                     f"{MAX_PDF_BYTES // (1024 * 1024)} MiB", zh="请上传签名后的 PDF 扫描件")
                strokes_path = None
                image_path = folder / f"{stem}.pdf"
                image_path.write_bytes(pdf)
            written.append(image_path)
            with immediate_transaction(self._db):
                review = self._review_row(session_id, document)
                if amendment_id is None and review["state"] != "review":
                    raise RecordLocked(f"the record of session {session_id} is {review['state']}: it is locked; a "
                                       "change after signing is an amendment the person questioned confirms",
                                       zh="笔录已签名锁定，只能对补正内容确认签名")
                if amendment_id is not None:
                    self._pending_amendment(session_id, amendment_id, signer_role)
                files = {}
                for part, path in (("strokes", strokes_path), ("image", image_path)):
                    if path is not None:
                        files[part] = (path.relative_to(self.home).as_posix(), *file_sha256(path))
                signature_id = self._db.execute(
                    "INSERT INTO signatures (session_id, document, signer_role, signer_name, kind, statement,"
                    " amendment_id, strokes_path, strokes_sha256, image_path, image_sha256, created_by, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [session_id, document, signer_role, signer_name, "strokes" if pdf is None else "pdf", statement, amendment_id,
                     files.get("strokes", (None, None))[0], files.get("strokes", (None, None))[1],
                     files["image"][0], files["image"][1], _actor_name(actor), now_utc_iso()]).lastrowid
                for part, (relative, digest, size) in files.items():
                    self._audit.cover_file("signature.stored", signature_subject(session_id, signature_id, part),
                                           path=relative, sha256=digest, size_bytes=size, actor=actor,
                                           session_id=session_id)
                if amendment_id is not None:
                    self._db.execute("UPDATE record_amendments SET confirmed_signature_id = ? WHERE id = ?",
                                     [signature_id, amendment_id])
                self._audit.action(actor, "record.signed_by", session_id=session_id,
                                   detail={"signature_id": signature_id, "role": signer_role, "document": document,
                                           "kind": "strokes" if pdf is None else "pdf", "amendment_id": amendment_id})
        except BaseException:
            for path in written:  # nothing half-kept: a refused signature leaves no file behind
                path.unlink(missing_ok=True)
            raise
        return next(s for s in self.record_review(session_id, document=document)["signatures"]
                    if s["id"] == signature_id)

    @locked
    def close_record_review(self, session_id: int, *, outcome: str, reason: str | None = None,
                            witnesses: list[str] | tuple[str, ...] = (), document: str = "record",
                            actor: Actor = SYSTEM_ACTOR) -> dict:
        """已签名 ("signed") or 拒绝签名 ("refused", with the reason and the witnesses); the record is then locked."""
        _check_document(document)
        if outcome not in ("signed", "refused"):
            raise StoreError(f"outcome is signed or refused, not {outcome!r}")
        reason = _text("reason", reason, _MAX_TEXT)
        if not isinstance(witnesses, (list, tuple)):
            raise StoreError("witnesses is a list of names")
        witnesses = [_text("witness", w, _MAX_NAME, required=True) for w in witnesses]
        with immediate_transaction(self._db):
            review = self._review_row(session_id, document)
            if review["state"] != "review":
                raise RecordLocked(f"the record of session {session_id} is already {review['state']}",
                                   zh="笔录已签名或已拒绝签名")
            signed = {row["signer_role"] for row in self._db.query(
                "SELECT signer_role FROM signatures WHERE session_id = ? AND document = ? AND amendment_id IS NULL",
                [session_id, document])}
            needed = ["讯问人", "记录人"] + (["被讯问人"] if outcome == "signed" else [])
            missing = [role for role in needed if role not in signed]
            if missing:
                raise Conflict(f"not yet signed by: {', '.join(missing)}", zh=f"尚未签名：{'、'.join(missing)}")
            if outcome == "refused" and (not reason or not witnesses):
                raise StoreError("a refusal to sign records the reason and at least one witness",
                                 zh="拒绝签名须记明原因和见证人")
            self._db.execute("UPDATE record_reviews SET state = ?, reason = ?, witnesses_json = ?, closed_at = ?,"
                             " closed_by = ? WHERE session_id = ? AND document = ?",
                             [outcome, reason, json.dumps(witnesses, ensure_ascii=False), now_utc_iso(),
                              _actor_name(actor), session_id, document])
            self._audit.action(actor, f"record.{outcome}", session_id=session_id,
                               detail={"witnesses": len(witnesses), "document": document})
        return self.record_review(session_id, document=document)

    @locked
    def record_review(self, session_id: int, *, document: str = "record") -> dict:
        """The record's read-back: state (None before it starts), its Chinese name, reason, witnesses, times,
        signatures (without their files) and amendments (with the revision each came from)."""
        _check_document(document)
        require_session(self._db, session_id)
        row = one(self._db, "SELECT * FROM record_reviews WHERE session_id = ? AND document = ?",
                  [session_id, document])
        signatures = [
            {"id": r["id"], "signer_role": r["signer_role"], "signer_name": r["signer_name"], "kind": r["kind"],
             "statement": r["statement"], "amendment_id": r["amendment_id"], "strokes_sha256": r["strokes_sha256"],
             "image_sha256": r["image_sha256"], "image_path": r["image_path"], "strokes_path": r["strokes_path"],
             "created_at": local_iso(r["created_at"])}
            for r in self._db.query("SELECT * FROM signatures WHERE session_id = ? AND document = ? ORDER BY id",
                                    [session_id, document])]
        amendments = [
            {"id": r["id"], "revision_id": r["revision_id"], "utterance_id": r["utterance_id"], "kind": r["kind"],
             "before": json.loads(r["before_json"]), "after": json.loads(r["after_json"]),
             "created_at": local_iso(r["created_at"]), "confirmed_signature_id": r["confirmed_signature_id"]}
            for r in self._db.query("SELECT a.*, v.before_json, v.after_json FROM record_amendments a JOIN revisions v"
                                    " ON v.id = a.revision_id WHERE a.session_id = ? ORDER BY a.id", [session_id])
            if document == "record"]
        state = row["state"] if row else None
        return {"session_id": session_id, "document": document, "note": row["note"] if row else None, "state": state, "state_zh": REVIEW_STATES.get(state, "未核对"),
                "locked": state in ("signed", "refused"), "reason": row["reason"] if row else None,
                "witnesses": json.loads(row["witnesses_json"]) if row else [],
                "opened_at": local_iso(row["opened_at"]) if row else None,
                "closed_at": local_iso(row["closed_at"]) if row else None,
                "signatures": signatures, "amendments": amendments}

    def _review_row(self, session_id: int, document: str = "record") -> dict:
        require_session(self._db, session_id)
        row = one(self._db, "SELECT * FROM record_reviews WHERE session_id = ? AND document = ?",
                  [session_id, document])
        if row is None:
            raise ReviewNotFound(f"the read-back of session {session_id}'s {document} has not been started",
                                 zh=f"尚未开始{DOCUMENTS[document]}核对")
        return row

    def _pending_amendment(self, session_id: int, amendment_id: int, signer_role: str) -> None:
        row = one(self._db, "SELECT * FROM record_amendments WHERE id = ? AND session_id = ?",
                  [amendment_id, session_id])
        if row is None:
            raise ReviewNotFound(f"session {session_id} has no amendment {amendment_id}")
        if row["confirmed_signature_id"] is not None:
            raise Conflict(f"amendment {amendment_id} is already confirmed", zh="该补正已确认")
        if signer_role != "被讯问人":
            raise StoreError("an amendment is confirmed by the person questioned (被讯问人)")


def _check_document(document: str) -> None:
    if document not in DOCUMENTS:
        raise StoreError(f"document is one of {', '.join(DOCUMENTS)}, not {document!r}")


def _checked_strokes(strokes, width, height) -> list[list[dict]]:
    for name, value in (("width", width), ("height", height)):
        if isinstance(value, bool) or not isinstance(value, int) or not 10 <= value <= MAX_PAD_PX:
            raise StoreError(f"the signing pad's {name} is 10 to {MAX_PAD_PX} pixels, not {value!r}")
    if not isinstance(strokes, list) or not strokes or not all(isinstance(s, list) and s for s in strokes):
        raise StoreError("strokes is a non-empty list of strokes, each a non-empty list of points",
                         zh="请先在签名框内签名")
    cleaned, count = [], 0
    for stroke in strokes:
        points = []
        for point in stroke:
            x, y = (point.get("x"), point.get("y")) if isinstance(point, dict) else (None, None)
            if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (x, y)) \
                    or not (0 <= x <= width and 0 <= y <= height):
                raise StoreError(f"a stroke point is {{x, y}} inside the {width}x{height} pad, not {point!r}")
            t = point.get("t")
            points.append({"x": round(float(x), 1), "y": round(float(y), 1),
                           **({"t": round(float(t), 1)} if isinstance(t, (int, float)) else {})})
        count += len(points)
        cleaned.append(points)
    if count > MAX_POINTS:
        raise StoreError(f"a signature has at most {MAX_POINTS} points, not {count}")
    return cleaned


def _text(name: str, value, limit: int, *, required: bool = False) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise StoreError(f"{name} is required")
        return None
    if not isinstance(value, str) or len(value) > limit or any(ord(c) < 32 for c in value):
        raise StoreError(f"{name} is text of at most {limit} characters")
    return value.strip()


def _actor_name(actor: Actor) -> str:
    return actor if isinstance(actor, str) else actor.name

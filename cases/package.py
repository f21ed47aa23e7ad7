"""The sealed export package of one session: a ZIP that `bilu verify --package` checks without the database.

Members (names are ASCII so every unzip tool keeps them):

    manifest.json     format, session, case, every other member's sha256 and size, the chain head, the seal entry
    transcript.json   the JSON export (every line, its words and marks), signed like `bilu export --format json`
    record.txt        the 讯问笔录 as text, record.docx the same as a Word document (with its 校验码 line)
    findings.json     the procedural findings (and guardrails) of the session
    signatures.json   the read-back of the record: its state, reason, witnesses, signatures, amendments (once started)
    audio/...         the session's audio files as stored (the uploaded file; a live room's segments and playback)
    signatures/...    each signature's strokes (JSON) and image (PNG), or its scanned PDF
    fault_statement.txt, .json  the 相关说明 of the recording's faults (cases/fault_statement.py), when it has any
    audit.json        the audit entries about the session (their full content) and the links of the chain from the
                      session's first entry to the seal (id, prev_hash, content_sha256, hash: no other content)

How it is sealed: the members are built from one snapshot (`Exports.export_snapshot`, whose "session.export"
entry is the 校验码 on the record); their sha256s, in one canonical JSON, are hashed into a "session.package"
entry appended after them (`record_audit`). That entry is the last link in audit.json and its hash is the chain
head in the manifest. So a changed byte shows as a member whose sha256 differs; a manifest rewritten to match
shows as a seal that no longer matches it; a seal rewritten breaks the links up to the head. The head itself is
anchored outside the package: `bilu verify --code` on the service, or a head noted when it was handed over.
"""
import hashlib
import json
import zipfile
from pathlib import Path

from cases.audit import file_sha256
from cases.row_digests import FILE_KINDS, canonical_json, sha256_text, subject_kind

__all__ = ["PACKAGE_FORMAT", "SEAL_ACTION", "build_package", "members_digest"]

PACKAGE_FORMAT = "bilu-package/1"
SEAL_ACTION = "session.package"
MANIFEST = "manifest.json"
AUDIT = "audit.json"
UNSEALED = (MANIFEST, AUDIT)
"""The members the seal cannot cover: the manifest holds the seal's hash, audit.json holds the seal itself."""


def members_digest(members: dict[str, str]) -> str:
    """The sha256 the seal carries: over {name: sha256} of every sealed member, as canonical JSON."""
    return sha256_text(canonical_json({name: members[name] for name in sorted(members)}))


def build_package(store, session_id: int, destination: Path, *, actor) -> dict:
    """Write the session's package to `destination` (a .zip); returns its manifest.

    Raises SessionNotFound (bad input) before anything is written.
    """
    from cases.docx_export import export_docx
    from cases.exports import export_json, export_txt
    from cases.record_parties import record_parties

    snapshot = store.export_snapshot(session_id, fmt="package", actor=actor)
    session, utterances, integrity = snapshot["session"], snapshot["utterances"], snapshot["integrity"]
    review = store.record_review(session_id)
    if review["state"] is not None:
        session = {**session, "record_review": review}
    parties = record_parties(store, session)
    texts: dict[str, bytes] = {
        "transcript.json": export_json(session, utterances, integrity=integrity).encode("utf-8"),
        "record.txt": export_txt(session, utterances, integrity=integrity, parties=parties).encode("utf-8"),
        "record.docx": export_docx(session, utterances, integrity=integrity, parties=parties),
        "findings.json": _json_bytes({"rule_set": session.get("rule_set"), "conditions": session.get("conditions"),
                                      "findings": session.get("findings") or []}),
    }
    texts.update(_extra_members(store, session_id))
    audio = _audio_files(store, session_id)
    sealed = {name: hashlib.sha256(data).hexdigest() for name, data in texts.items()}
    sizes = {name: len(data) for name, data in texts.items()}
    for name, (path, _) in audio.items():
        sealed[name], sizes[name] = file_sha256(path)
    seal_id = store.record_audit(actor, SEAL_ACTION, session_id=session_id, case_no=session["case_no"],
                                 detail={"members_sha256": members_digest(sealed), "members": len(sealed),
                                         "export_entry_head": integrity["chain_head"]})
    extract = store.audit_extract(session_id, until_id=seal_id)
    audit_bytes = _json_bytes(extract)
    head = extract["links"][-1]["hash"]
    manifest = {
        "format": PACKAGE_FORMAT, "session_id": session_id, "case_no": session["case_no"],
        "chain_head": head, "seal_entry": seal_id, "session_digest": integrity["session_digest"],
        "covered": {name: subject for name, (_, subject) in audio.items()},
        "members": {name: {"sha256": sealed[name], "bytes": sizes[name]} for name in sorted(sealed)}
        | {AUDIT: {"sha256": hashlib.sha256(audit_bytes).hexdigest(), "bytes": len(audit_bytes)}},
    }
    partial = destination.with_name(destination.name + ".partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(MANIFEST, _json_bytes(manifest))
        for name, data in texts.items():
            archive.writestr(name, data)
        for name, (path, _) in audio.items():
            archive.write(path, name, compress_type=zipfile.ZIP_STORED)  # audio is compressed already, or noise
        archive.writestr(AUDIT, audit_bytes)
    partial.replace(destination)  # a package is whole or absent: never half written under its name
    return manifest


def _extra_members(store, session_id: int) -> dict[str, bytes]:
    """Members other parts add (signatures, the 相关说明): each is a JSON document when the session has one."""
    extra = {}
    from cases.fault_statement import FAULT_DOCUMENT, fault_statement, fault_statement_text

    review = store.record_review(session_id)
    if review["state"] is not None:
        extra["signatures.json"] = _json_bytes(review)
    statement = fault_statement(store, session_id)
    if statement["needed"] or statement["review"]["state"] is not None:
        extra["fault_statement.txt"] = fault_statement_text(statement).encode("utf-8")
        extra["fault_statement.json"] = _json_bytes({**statement, "document": FAULT_DOCUMENT})
    return extra


def _audio_files(store, session_id: int) -> dict[str, tuple[Path, str]]:
    """The audio files the chain covers for this session (the latest entry of each file subject): member name ->
    (path, the subject of its audit entry)."""
    latest: dict[str, dict] = {}
    for row in store.audit_rows(session_id=session_id, with_data_entries=True, limit=10_000_000):
        subject = row["subject"]
        if subject is not None and subject_kind(subject) in FILE_KINDS:
            latest[subject] = row
    files = {}
    for subject, row in sorted(latest.items()):
        path = row["detail"].get("path")
        if not path or json.loads(row["content"]).get("subject_sha256") is None:
            continue
        full = store.home / path
        if full.is_file():  # a missing file is `bilu verify`'s to report; the package says what it holds
            folder = "signatures/" if subject_kind(subject) == "signature" else "audio/"
            files[folder + Path(path).as_posix().replace("/", "_")] = (full, subject)
    return files


def _json_bytes(value) -> bytes:
    return (json.dumps(value, ensure_ascii=False, indent=2) + "\n").encode("utf-8")

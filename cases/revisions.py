"""Corrections of a transcript: edit a line's text, speaker or role; relabel a speaker everywhere; split a
line in two at a time point; merge two neighbouring lines.

The `Corrections` concern of the store. Every change
- is checked against the version the editor saw (`version`): a stale one raises StaleVersion with the
  stored version and row, never a silent overwrite;
- writes a revision row (who, when, kind, before, after) in the same transaction;
- keeps the recognizer's text (`original_text`, which a trigger protects) and updates the search index;
- appends audit chain entries for every row it changed or added (the lines, speakers and revisions), in the
  same transaction, so that `bilu verify` can tell a correction made here from an edit made behind our back;
- appends its action entry ("utterance.edited", "utterance.split", "utterance.merged", "speaker.relabelled")
  naming who corrected, in that transaction too ("utterance.suspect_decided" for a decision on a suspected
  line: kept out of the written record, or restored to it).
Rechecking the procedural findings is the caller's part (the checker lives above this package).
"""
import json
from typing import Any

from cases.actors import Account
from cases.concern import Concern
from cases.lookups import ensure_speaker
from cases.checks import to_ms
from cases.errors import InvalidCorrection, SessionNotFound, SpeakerNotFound, StaleVersion, UtteranceNotFound
from cases.locking import locked
from cases.migrations import immediate_transaction
from cases.signing import note_amendment
from cases.reads import local_iso, now_utc_iso, one, read_utterances
from cases.row_digests import revision_subject, speaker_subject, utterance_subject
from cases.search import segment_for_index

CORRECTABLE_STATUSES = ("done", "interrupted", "recovered")
"""A session still being transcribed (or failed) is not corrected: its lines are still being written."""
EDITABLE_FIELDS = ("text", "speaker", "role")
SUSPECT_DECISIONS = ("kept_out", "restored")
MAX_TEXT_CHARS = 5000
_LATIN_END = tuple("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


class Corrections(Concern):

    @locked
    def utterance(self, session_id: int, utterance_id: int) -> dict:
        """One utterance as `utterances()` shows it (UtteranceNotFound if absent or merged away)."""
        return self._current_utterance(session_id, utterance_id)

    @locked
    def edit_utterance(self, session_id: int, utterance_id: int, changes: dict[str, Any], *, version: int,
                       by: Account) -> dict:
        """Change an utterance's `text`, `speaker` (a label) and/or `role` (None: back to its speaker's).

        One revision per changed field; the version goes up once. Returns the utterance after the change.
        """
        unknown = set(changes) - set(EDITABLE_FIELDS)
        if unknown or not changes:
            raise InvalidCorrection(f"a correction changes one or more of {', '.join(EDITABLE_FIELDS)}; "
                                    f"got {sorted(changes) or 'nothing'}")
        if "text" in changes:
            changes["text"] = _checked_text(changes["text"], "text")
        if "speaker" in changes:
            changes["speaker"] = _checked_label(changes["speaker"], "speaker")
        if "role" in changes and changes["role"] is not None:
            changes["role"] = _checked_label(changes["role"], "role")
        with immediate_transaction(self._db):
            before = self._editable(session_id, utterance_id, version)
            if "speaker" in changes:
                ensure_speaker(self._db, self._audit, session_id, changes["speaker"], channel=None, actor=by)
            own_role = one(self._db, "SELECT role FROM utterances WHERE id = ?", [utterance_id])["role"]
            for field, value in changes.items():
                column_before = own_role if field == "role" else before[field]
                if value == column_before:
                    continue
                self._db.execute(f"UPDATE utterances SET {field} = ? WHERE id = ?", [value, utterance_id])
                self._add_revision(session_id, utterance_id, field, by,
                                   {field: before[field], "version": version},
                                   {field: value, "version": version + 1})
            self._db.execute("UPDATE utterances SET version = version + 1 WHERE id = ?", [utterance_id])
            after = self._current_utterance(session_id, utterance_id)
            self._reindex(utterance_id, after["text"])
            self._audit.cover_row("utterance.corrected", utterance_subject(utterance_id), actor=by,
                                  session_id=session_id)
            self._audit.action(by, "utterance.edited", session_id=session_id,
                               detail={"utterance_id": utterance_id, "fields": sorted(changes)})
        return after

    @locked
    def decide_suspect(self, session_id: int, utterance_id: int, decision: str, *, version: int,
                       by: Account) -> dict:
        """An officer's decision on a suspected line: "kept_out" (it stays out of the written record) or
        "restored" (it goes back in). The line itself is never changed; the decision is a revision."""
        if decision not in SUSPECT_DECISIONS:
            raise InvalidCorrection(f"a decision on a suspected line is one of {', '.join(SUSPECT_DECISIONS)}, "
                                    f"not {decision!r}")
        with immediate_transaction(self._db):
            before = self._editable(session_id, utterance_id, version)
            if before["suspect"] is None:
                raise InvalidCorrection(f"line {utterance_id} is not suspected: only a suspected line can be kept "
                                        "out of the record or restored")
            self._db.execute("UPDATE utterances SET suspect_decision = ?, version = version + 1 WHERE id = ?",
                             [decision, utterance_id])
            after = self._current_utterance(session_id, utterance_id)
            self._add_revision(session_id, utterance_id, "suspect", by, _decision_view(before), _decision_view(after))
            self._audit.cover_row("utterance.corrected", utterance_subject(utterance_id), actor=by,
                                  session_id=session_id)
            self._audit.action(by, "utterance.suspect_decided", session_id=session_id,
                               detail={"utterance_id": utterance_id, "decision": decision})
        return after

    @locked
    def relabel_speaker(self, session_id: int, label: str, *, version: int, by: Account,
                        role: Any = ..., new_label: str | None = None) -> dict:
        """Change a speaker's role for all their lines at once, and/or move all their lines to `new_label`
        (an existing speaker's lines join theirs: the diarizer split one person in two).

        `version` is the speaker's. Every moved line's version goes up. Returns the speaker after the change.
        """
        if role is ... and new_label is None:
            raise InvalidCorrection("relabelling changes the speaker's role, its label, or both; got neither")
        if role is not ... and role is not None:
            role = _checked_label(role, "role")
        if new_label is not None:
            new_label = _checked_label(new_label, "new_label")
        with immediate_transaction(self._db):
            self._correctable_session(session_id)
            speaker = self._speaker_row(session_id, label)
            if speaker["version"] != version:
                raise StaleVersion(
                    f"speaker {label!r} of session {session_id} was changed by someone else (version "
                    f"{speaker['version']}, you saved against {version}): reload and try again",
                    current_version=speaker["version"], current=_speaker_dict(speaker))
            before = {**_speaker_dict(speaker), "utterance_ids": self._line_ids(session_id, label)}
            moved = before["utterance_ids"] if new_label is not None and new_label != label else []
            if role is not ...:
                self._db.execute("UPDATE speakers SET role = ? WHERE id = ?", [role, speaker["id"]])
            target = label
            if new_label is not None and new_label != label:
                ensure_speaker(self._db, self._audit, session_id, new_label, channel=speaker["channel"], actor=by)
                if role is not ...:
                    self._db.execute("UPDATE speakers SET role = ? WHERE session_id = ? AND label = ?",
                                     [role, session_id, new_label])
                self._db.execute("UPDATE utterances SET speaker = ?, version = version + 1 WHERE session_id = ?"
                                 " AND speaker = ? AND merged_into IS NULL", [new_label, session_id, label])
                self._db.execute("UPDATE speakers SET version = version + 1 WHERE session_id = ? AND label = ?",
                                 [session_id, new_label])
                target = new_label
            self._db.execute("UPDATE speakers SET version = version + 1 WHERE id = ?", [speaker["id"]])
            after_row = self._speaker_row(session_id, target)
            after = {**_speaker_dict(after_row), "utterance_ids": self._line_ids(session_id, target)}
            self._add_revision(session_id, None, "relabel", by, before, after, speaker_label=label)
            for changed in dict.fromkeys((label, target)):
                self._audit.cover_row("speaker.relabelled", speaker_subject(session_id, changed), actor=by,
                                session_id=session_id)
            for line_id in moved:
                self._audit.cover_row("utterance.relabelled", utterance_subject(line_id), actor=by,
                                      session_id=session_id)
            given = sorted([*(["role"] if role is not ... else []), *(["new_label"] if new_label is not None else [])])
            self._audit.action(by, "speaker.relabelled", session_id=session_id, detail={"fields": given})
        return after

    @locked
    def split_utterance(self, session_id: int, utterance_id: int, *, at_s: float, version: int, by: Account,
                        first_text: str | None = None, second_text: str | None = None) -> tuple[dict, dict]:
        """Split a line in two at `at_s` (strictly inside it): its words go to the side their middle falls
        on. Texts come from the words, unless the text was corrected: then give `first_text` and
        `second_text`. The first line keeps its id (and the recognizer's whole text as its original); the
        second is new, its original text being the recognizer's words on its side.
        """
        at_ms = to_ms(at_s, "split point at_s")
        if (first_text is None) != (second_text is None):
            raise InvalidCorrection("give both first_text and second_text, or neither (then the words decide)")
        with immediate_transaction(self._db):
            before = self._editable(session_id, utterance_id, version)
            start_ms, end_ms = round(before["start_s"] * 1000), round(before["end_s"] * 1000)
            if not start_ms < at_ms < end_ms:
                raise InvalidCorrection(f"the split point {at_s} s must be inside the line "
                                        f"({before['start_s']} s to {before['end_s']} s)")
            words = before["words"]
            cut = sum(1 for w in words if (w["start_s"] + w["end_s"]) / 2 * 1000 < at_ms)
            first_words, second_words = words[:cut], words[cut:]
            recognized_first = "".join(w["text"] for w in first_words).strip()
            recognized_second = "".join(w["text"] for w in second_words).strip()
            if first_text is None:
                if before["text"] != "".join(w["text"] for w in words).strip():
                    raise InvalidCorrection("this line's text was corrected, so its words no longer say where "
                                            "to cut it: give first_text and second_text")
                first_text, second_text = recognized_first, recognized_second
            first_text = _checked_text(first_text, "first_text")
            second_text = _checked_text(second_text, "second_text")
            row = one(self._db, "SELECT * FROM utterances WHERE id = ?", [utterance_id])
            self._db.execute("UPDATE utterances SET end_ms = ?, text = ?, version = version + 1 WHERE id = ?",
                             [at_ms, first_text, utterance_id])
            seq = self._db.execute("SELECT COALESCE(MAX(seq), -1) + 1 FROM utterances WHERE session_id = ?",
                                   [session_id]).fetchone()[0]
            second_id = int(self._db.execute(
                "INSERT INTO utterances (session_id, seq, start_ms, end_ms, speaker, channel, text, committed,"
                " original_text, role, suspect, not_speech, speech_probability, energy_db, suspect_decision)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?)",
                [session_id, seq, at_ms, end_ms, row["speaker"], row["channel"], second_text,
                 recognized_second or second_text, row["role"], row["suspect"], row["not_speech"],
                 row["speech_probability"], row["energy_db"], row["suspect_decision"]],
            ).lastrowid)
            self._db.execute("UPDATE words SET utterance_id = ?, seq = seq - ? WHERE utterance_id = ? AND seq >= ?",
                             [second_id, cut, utterance_id, cut])
            first = self._current_utterance(session_id, utterance_id)
            second = self._current_utterance(session_id, second_id)
            self._reindex(utterance_id, first["text"])
            self._reindex(second_id, second["text"])
            after = {"first": _revision_view(first), "second": _revision_view(second)}
            self._add_revision(session_id, utterance_id, "split", by, _revision_view(before), after)
            self._add_revision(session_id, second_id, "split", by, _revision_view(before), after)
            for line_id in (utterance_id, second_id):
                self._audit.cover_row("utterance.split", utterance_subject(line_id), actor=by, session_id=session_id)
            self._audit.action(by, "utterance.split", session_id=session_id,
                               detail={"utterance_id": utterance_id, "new_id": second_id, "at_s": at_s})
        return first, second

    @locked
    def merge_utterances(self, session_id: int, utterance_id: int, *, with_id: int, version: int,
                         with_version: int, by: Account) -> dict:
        """Merge two neighbouring lines (next to each other in start order) into the earlier one.

        The later line is kept, marked merged (with its original text), and no longer read.
        """
        if utterance_id == with_id:
            raise InvalidCorrection("a line cannot be merged with itself")
        with immediate_transaction(self._db):
            one_line = self._editable(session_id, utterance_id, version)
            other = self._editable(session_id, with_id, with_version)
            order = [u["id"] for u in read_utterances(self._db, session_id)]
            if abs(order.index(utterance_id) - order.index(with_id)) != 1:
                raise InvalidCorrection(f"lines {utterance_id} and {with_id} are not neighbours: only a line and "
                                        "the one just before or after it can be merged")
            first, second = (one_line, other) if order.index(utterance_id) < order.index(with_id) else (other, one_line)
            separator = " " if first["text"].endswith(_LATIN_END) and second["text"].startswith(_LATIN_END) else ""
            text = _checked_text(first["text"] + separator + second["text"], "merged text")
            end_ms = max(round(first["end_s"] * 1000), round(second["end_s"] * 1000))
            offset = len(first["words"])
            self._db.execute("UPDATE words SET utterance_id = ?, seq = seq + ? WHERE utterance_id = ?",
                             [first["id"], offset, second["id"]])
            self._db.execute("UPDATE utterances SET text = ?, end_ms = ?, version = version + 1 WHERE id = ?",
                             [text, end_ms, first["id"]])
            if second["in_record"] and not first["in_record"]:
                # The merged line takes the first one's marks: a line that was in the record must not
                # leave it by being merged into one that was not.
                self._db.execute("UPDATE utterances SET suspect_decision = 'restored' WHERE id = ?", [first["id"]])
            self._db.execute("UPDATE utterances SET merged_into = ?, version = version + 1 WHERE id = ?",
                             [first["id"], second["id"]])
            self._db.execute("DELETE FROM utterances_fts WHERE rowid = ?", [second["id"]])
            merged = self._current_utterance(session_id, first["id"])
            self._reindex(first["id"], merged["text"])
            before = {"first": _revision_view(first), "second": _revision_view(second)}
            for line_id in (first["id"], second["id"]):
                self._add_revision(session_id, line_id, "merge", by, before, {"merged": _revision_view(merged)})
                self._audit.cover_row("utterance.merged", utterance_subject(line_id), actor=by, session_id=session_id)
            self._audit.action(by, "utterance.merged", session_id=session_id,
                               detail={"utterance_id": merged["id"], "merged": sorted({utterance_id, with_id})})
        return merged

    @locked
    def speakers(self, session_id: int) -> list[dict]:
        """The session's speakers with their versions, by label."""
        if one(self._db, "SELECT 1 FROM sessions WHERE id = ?", [session_id]) is None:
            raise SessionNotFound(f"no session with id {session_id}")
        return [_speaker_dict(row) for row in
                self._db.query("SELECT * FROM speakers WHERE session_id = ? ORDER BY label", [session_id])]

    @locked
    def revisions(self, session_id: int, utterance_id: int | None = None) -> list[dict]:
        """The session's revisions (or one line's), oldest first."""
        if one(self._db, "SELECT 1 FROM sessions WHERE id = ?", [session_id]) is None:
            raise SessionNotFound(f"no session with id {session_id}")
        where, params = "r.session_id = ?", [session_id]
        if utterance_id is not None:
            where, params = f"{where} AND r.utterance_id = ?", [session_id, utterance_id]
        return [
            {"id": row["id"], "utterance_id": row["utterance_id"], "speaker_label": row["speaker_label"],
             "kind": row["kind"], "user": row["user_name"],
             # The name shown on pages (an account's display name; the login name if the account is gone).
             "user_display_name": row["display_name"] or row["user_name"], "at": local_iso(row["created_at"]),
             "before": json.loads(row["before_json"]), "after": json.loads(row["after_json"])}
            for row in self._db.query(f"SELECT r.*, u.display_name FROM revisions r LEFT JOIN users u"
                                      f" ON u.id = r.user_id WHERE {where} ORDER BY r.id", params)
        ]

    # Internals (callers hold the lock, inside a transaction where they write)

    def _correctable_session(self, session_id: int) -> None:
        row = one(self._db, "SELECT status, withdrawn_at FROM sessions WHERE id = ?", [session_id])
        if row is None:
            raise SessionNotFound(f"no session with id {session_id}")
        if row["withdrawn_at"]:
            raise InvalidCorrection(f"session {session_id} was withdrawn: it is kept as it was, not corrected",
                                    zh="本次讯问的录音已撤回，保留原样，不能再修改")
        if row["status"] not in CORRECTABLE_STATUSES:
            raise InvalidCorrection(f"session {session_id} is {row['status']}: only sessions that are "
                                    f"{', '.join(CORRECTABLE_STATUSES)} can be corrected")

    def _current_utterance(self, session_id: int, utterance_id: int) -> dict:
        rows = read_utterances(self._db, session_id, utterance_id=utterance_id)
        if not rows:
            raise UtteranceNotFound(f"no utterance {utterance_id} in session {session_id}")
        return rows[0]

    def _editable(self, session_id: int, utterance_id: int, version: int) -> dict:
        self._correctable_session(session_id)
        current = self._current_utterance(session_id, utterance_id)
        if isinstance(version, bool) or not isinstance(version, int):
            raise InvalidCorrection(f"version must be the integer version of the line you edited, not {version!r}")
        if current["version"] != version:
            raise StaleVersion(
                f"utterance {utterance_id} was changed by someone else (now version {current['version']}, you "
                f"saved against {version}): reload it and try again",
                current_version=current["version"], current=current)
        return current

    def _speaker_row(self, session_id: int, label: str) -> dict:
        row = one(self._db, "SELECT * FROM speakers WHERE session_id = ? AND label = ?", [session_id, label])
        if row is None:
            raise SpeakerNotFound(f"no speaker {label!r} in session {session_id}")
        return row

    def _line_ids(self, session_id: int, label: str) -> list[int]:
        return [row["id"] for row in self._db.query(
            "SELECT id FROM utterances WHERE session_id = ? AND speaker = ? AND merged_into IS NULL"
            " ORDER BY start_ms, seq", [session_id, label])]

    def _reindex(self, utterance_id: int, text: str) -> None:
        self._db.execute("DELETE FROM utterances_fts WHERE rowid = ?", [utterance_id])
        self._db.execute("INSERT INTO utterances_fts (rowid, segmented) VALUES (?, ?)",
                         [utterance_id, segment_for_index(text)])

    def _add_revision(self, session_id: int, utterance_id: int | None, kind: str, by: Account, before: dict,
                      after: dict, *, speaker_label: str | None = None) -> None:
        revision_id = self._db.execute(
            "INSERT INTO revisions (session_id, utterance_id, speaker_label, kind, user_id, user_name, created_at,"
            " before_json, after_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [session_id, utterance_id, speaker_label, kind, by.id, by.name, now_utc_iso(),
             json.dumps(before, ensure_ascii=False), json.dumps(after, ensure_ascii=False)],
        ).lastrowid
        self._audit.cover_row("revision.added", revision_subject(revision_id), actor=by, session_id=session_id,
                        detail={"kind": kind})
        # A signed record stays correctable, but the change is an amendment the person questioned confirms.
        note_amendment(self._db, self._audit, session_id, revision_id=revision_id, utterance_id=utterance_id,
                       kind=kind, actor=by)


def _checked_text(text: object, name: str) -> str:
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT_CHARS:
        raise InvalidCorrection(f"{name} must be non-empty text of at most {MAX_TEXT_CHARS} characters")
    return text.strip()


def _checked_label(value: object, name: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 64:
        raise InvalidCorrection(f"{name} must be non-empty text of at most 64 characters, not {value!r}")
    return value.strip()


def _speaker_dict(row: dict) -> dict:
    return {"label": row["label"], "role": row["role"], "channel": row["channel"], "version": row["version"]}


def _decision_view(utterance: dict) -> dict:
    keys = ("suspect", "not_speech", "suspect_decision", "in_record", "version")
    return {key: utterance[key] for key in keys}


def _revision_view(utterance: dict) -> dict:
    """What a revision keeps of a line: everything but the words (their times are in start_s/end_s)."""
    keys = ("id", "start_s", "end_s", "speaker", "role", "text", "version")
    return {key: utterance[key] for key in keys}

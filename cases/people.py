"""The people of a case: the person questioned (犯罪嫌疑人, 违法嫌疑人), victims, witnesses, interpreters, legal
representatives; their identity number and the wristband id of a case-handling centre. The `People` concern of the store."""
import re

from cases.errors import StoreError
from cases.locking import locked
from cases.migrations import immediate_transaction
from cases.actors import SYSTEM_ACTOR, Actor
from cases.concern import Concern
from cases.lookups import checked_case_id
from cases.reads import local_iso, now_utc_iso, one
from cases.row_digests import person_subject

PERSON_ROLES = ("犯罪嫌疑人", "违法嫌疑人", "被害人", "证人", "翻译人员", "法定代理人", "合适成年人", "其他")
# Resident identity numbers: 17 digits and a digit or X; other documents are free text within limits.
_CHINESE_ID = re.compile(r"\d{17}[\dXx]")
_MAX_FIELD = 64


class People(Concern):

    @locked
    def add_person(self, case_no: str, *, name: str, role: str, id_number: str | None = None,
                   wristband_id: str | None = None, actor: Actor = SYSTEM_ACTOR) -> dict:
        """Add a person to the case; the audit chain covers the row (by its digest: no personal data in it), and
        the action "case.person_added" names who added it."""
        if role not in PERSON_ROLES:
            raise StoreError(f"unknown role {role!r} for a person of a case: use one of {', '.join(PERSON_ROLES)}")
        name = _field("name", name, required=True)
        id_number = _field("id_number", id_number)
        wristband_id = _field("wristband_id", wristband_id)
        if id_number and len(id_number) == 18 and not _CHINESE_ID.fullmatch(id_number):
            raise StoreError("an 18-character identity number is 17 digits and a final digit or X")
        with immediate_transaction(self._db):
            case_id = checked_case_id(self._db, case_no)
            cursor = self._db.execute(
                "INSERT INTO people (case_id, role, name, id_number, wristband_id, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                [case_id, role, name, id_number, wristband_id, now_utc_iso()],
            )
            person_id = cursor.lastrowid
            self._audit.cover_row("person.added", person_subject(person_id), actor=actor, session_id=None,
                                  case_no=case_no)
            self._audit.action(actor, "case.person_added", case_no=case_no, detail={"person_id": person_id})
        return self._person(person_id)

    @locked
    def people(self, case_no: str) -> list[dict]:
        case_id = checked_case_id(self._db, case_no)
        return [_public(row) for row in self._db.query("SELECT * FROM people WHERE case_id = ? ORDER BY id", [case_id])]

    def _person(self, person_id: int) -> dict:
        return _public(one(self._db, "SELECT * FROM people WHERE id = ?", [person_id]))


def _field(name: str, value: str | None, *, required: bool = False) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise StoreError(f"a person needs a {name}")
        return None
    if not isinstance(value, str) or len(value) > _MAX_FIELD or any(ord(ch) < 32 for ch in value):
        raise StoreError(f"{name} must be text of at most {_MAX_FIELD} characters without control characters")
    return value.strip()


def _public(row: dict) -> dict:
    return {"id": row["id"], "role": row["role"], "name": row["name"], "id_number": row["id_number"],
            "wristband_id": row["wristband_id"], "created_at": local_iso(row["created_at"])}

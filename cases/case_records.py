"""Cases: the `Cases` concern of the store (a case number, an optional title, the unit it belongs to).

A case is created on first use ("case.created"), by `ensure_case` or by the first session stored in it, with no
title and in the default unit; or opened by hand (`open_case`, "case.opened") with its title and its unit from the
start, so that the officers of that unit see it at once. Who may open a case in which unit is decided here, beside
the scope rules of cases/access.py: an officer or recorder in their own unit, a supervisor in their unit or any
unit below it, an administrator anywhere; a prosecutor nowhere."""

from cases.access import UNITS_BELOW, may_correct
from cases.actors import SYSTEM_ACTOR, Account, Actor
from cases.checks import check_case_no
from cases.concern import Concern
from cases.errors import CaseExists, InvalidAccount, StoreError
from cases.locking import locked
from cases.lookups import case_id, ensure_case_id, unit_row
from cases.migrations import immediate_transaction
from cases.pg_database import INTEGRITY_ERRORS
from cases.reads import now_utc_iso, one, read_case, read_cases

__all__ = ["Cases", "MAX_TITLE_CHARS", "check_title"]

MAX_TITLE_CHARS = 200


def check_title(title: object) -> str | None:
    """A case title: None or empty for none, else up to 200 printable characters (spaces at the ends dropped)."""
    if title is None:
        return None
    if not isinstance(title, str):
        raise StoreError(f"a case title must be text, not {type(title).__name__}")
    title = title.strip()
    if len(title) > MAX_TITLE_CHARS or any(not ch.isprintable() for ch in title):
        raise StoreError(f"a case title must be at most {MAX_TITLE_CHARS} printable characters "
                         f"(got {len(title)} characters)")
    return title or None


class Cases(Concern):

    @locked
    def ensure_case(self, case_no: str, *, title: str | None = None, actor: Actor = SYSTEM_ACTOR) -> dict:
        """The case with this number, created if missing (a title given later fills an empty one)."""
        with immediate_transaction(self._db):
            the_case_id = ensure_case_id(self._db, self._audit, case_no, title=title, actor=actor)
        return self._read_case(the_case_id)

    @locked
    def discard_case_if_unused(self, case_no: str, *, actor: Actor = SYSTEM_ACTOR) -> bool:
        """Delete a case nothing refers to (opened for a recording that then failed to start); True if deleted.
        A case holding anything (a session, a person, an assignment) is kept: foreign keys refuse the delete."""
        try:
            with immediate_transaction(self._db):
                deleted = self._db.execute(
                    "DELETE FROM cases WHERE case_no = ? AND NOT EXISTS "
                    "(SELECT 1 FROM sessions WHERE sessions.case_id = cases.id)", [case_no]).rowcount
                if deleted:
                    self._audit.action(actor, "case.discarded", case_no=case_no)
        except INTEGRITY_ERRORS:
            return False
        return deleted > 0

    @locked
    def get_case(self, case_no: str) -> dict:
        return self._read_case(case_id(self._db, case_no))

    @locked
    def list_cases(self) -> list[dict]:
        """Every case with `session_count` and `last_session_at`, most recently active first."""
        return read_cases(self._db)

    @locked
    def units_for_new_cases(self, account: Account) -> list[str]:
        """The units `account` may open a case in, their own first (none for a prosecutor)."""
        if not may_correct(account):
            return []
        if account.role == "admin":
            rows = self._db.query("SELECT name FROM units ORDER BY id != ?, level, name", [account.unit_id])
        elif account.role == "supervisor":
            rows = self._db.query(f"SELECT name FROM units WHERE id IN ({UNITS_BELOW}) ORDER BY id != ?, level, name",
                                  [account.unit_id, account.unit_id])
        else:
            rows = [{"name": account.unit_name}]
        return [row["name"] for row in rows]

    @locked
    def open_case(self, case_no: str, *, title: str | None, unit: str, actor: Actor) -> dict:
        """A new case in `unit` (audited "case.opened"); CaseExists if the number is taken.

        `actor` an account: the unit must be one of `units_for_new_cases(actor)` (InvalidAccount otherwise).
        A name (the command line, run by the operator of the machine): any unit."""
        check_case_no(case_no)
        title = check_title(title)
        if isinstance(actor, Account) and unit not in self.units_for_new_cases(actor):
            raise InvalidAccount(f"{actor.name} ({actor.role}, {actor.unit_name}) may not open a case in unit "
                                 f"{unit!r}")
        with immediate_transaction(self._db):
            the_unit_id = unit_row(self._db, unit)["id"]
            if one(self._db, "SELECT 1 FROM cases WHERE case_no = ?", [case_no]) is not None:
                raise CaseExists(f"case number {case_no!r} is taken: open the case by its number, or choose "
                                 "another number")
            cursor = self._db.execute("INSERT INTO cases (case_no, title, created_at, unit_id) VALUES (?, ?, ?, ?)",
                                      [case_no, title, now_utc_iso(), the_unit_id])
            # The title may name people: the entry holds the unit, not the title.
            self._audit.action(actor, "case.opened", case_no=case_no,
                               detail={"unit": unit, "titled": title is not None})
        return self._read_case(cursor.lastrowid)

    @locked
    def set_case_title(self, case_no: str, title: str | None, *, actor: Actor) -> dict:
        """Give a case its title, or change it (audited "case.retitled"; the title itself is not in the entry)."""
        title = check_title(title)
        with immediate_transaction(self._db):
            the_case_id = case_id(self._db, case_no)
            self._db.execute("UPDATE cases SET title = ? WHERE id = ?", [title, the_case_id])
            self._audit.action(actor, "case.retitled", case_no=case_no, detail={"titled": title is not None})
        return self._read_case(the_case_id)

    def _read_case(self, the_case_id: int) -> dict:
        case = read_case(self._db, the_case_id)
        assert case is not None, "the caller found or created the case"
        return case


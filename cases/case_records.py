"""Cases: the `Cases` concern of the store (a case number, an optional title, the unit it belongs to).

A case is created on first use ("case.created"), by `ensure_case` or by the first session stored in it."""
import sqlite3

from cases.actors import SYSTEM_ACTOR, Actor
from cases.concern import Concern
from cases.locking import locked
from cases.lookups import case_id, ensure_case_id
from cases.migrations import immediate_transaction
from cases.reads import read_case, read_cases

__all__ = ["Cases"]


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
        except sqlite3.IntegrityError:
            return False
        return deleted > 0

    @locked
    def get_case(self, case_no: str) -> dict:
        return self._read_case(case_id(self._db, case_no))

    @locked
    def list_cases(self) -> list[dict]:
        """Every case with `session_count` and `last_session_at`, most recently active first."""
        return read_cases(self._db)

    def _read_case(self, the_case_id: int) -> dict:
        case = read_case(self._db, the_case_id)
        assert case is not None, "the caller found or created the case"
        return case


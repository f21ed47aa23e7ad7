"""Who may see which cases: a `Scope` per account, and the store reads limited to it.

The rules (what each role may do) live here, beside the SQL that enforces them, so that every read the
api makes for a user goes through the same condition:
- admin: every case (and the accounts);
- officer, recorder: the cases of their own unit;
- supervisor: the cases of their unit and of every unit below it (a centre's supervisor sees its
  grassroots units; a city bureau's, everything in the city);
- prosecutor: only the cases assigned to them, read-only.
Something outside the scope is reported as not found, never as forbidden: its existence is not revealed.
"""
from dataclasses import dataclass
from typing import Any, Literal

from cases.actors import Account
from cases.concern import Concern
from cases.errors import CaseNotFound, SessionNotFound
from cases.locking import locked
from cases.reads import CASE_COLUMNS, case_from_row, one, read_sessions

CORRECTING_ROLES = ("officer", "recorder", "supervisor", "admin")
"""Who may correct transcripts (of the cases they see). Supervisors may: they review records and their
changes are revisions like anyone's. Prosecutors never."""
ADMIN_ROLES = ("admin",)

UNITS_BELOW = (
    "WITH RECURSIVE below(id) AS (SELECT ? UNION ALL SELECT n.id FROM units n JOIN below ON n.parent_id = below.id)"
    " SELECT id FROM below"
)
"""The ids of a unit and of every unit under it (one parameter: the unit id)."""


@dataclass(frozen=True, slots=True)
class Scope:
    """The cases an account may see: all, one unit, a unit and everything below, or assigned cases."""

    kind: Literal["all", "unit", "below", "assigned"]
    id: int | None = None  # the unit id (unit, below) or the user id (assigned)

    def condition(self) -> tuple[str, list[Any]]:
        """SQL over `c` (the cases row) true for the cases in scope, with its parameters."""
        if self.kind == "all":
            return "TRUE", []
        if self.kind == "unit":
            return "c.unit_id = ?", [self.id]
        if self.kind == "below":
            return f"c.unit_id IN ({UNITS_BELOW})", [self.id]
        return "c.id IN (SELECT case_id FROM case_assignments WHERE user_id = ?)", [self.id]


def scope_of(account: Account) -> Scope:
    if account.role == "admin":
        return Scope("all")
    if account.role == "supervisor":
        return Scope("below", account.unit_id)
    if account.role == "prosecutor":
        return Scope("assigned", account.id)
    return Scope("unit", account.unit_id)


def may_correct(account: Account) -> bool:
    return account.role in CORRECTING_ROLES


def may_administer(account: Account) -> bool:
    return account.role in ADMIN_ROLES


class Access(Concern):
    """Reads of cases and sessions limited to a scope."""

    @locked
    def cases_in_scope(self, scope: Scope) -> list[dict]:
        where, params = scope.condition()
        rows = self._db.query(
            f"{CASE_COLUMNS} WHERE {where} GROUP BY c.id"
            " ORDER BY COALESCE(MAX(s.created_at), c.created_at) DESC, c.id DESC", params)
        return [self._with_unit(row) for row in rows]

    @locked
    def case_in_scope(self, case_no: str, scope: Scope) -> dict:
        """The case, or CaseNotFound if there is none or it is outside the scope (the same answer)."""
        where, params = scope.condition()
        row = one(self._db, f"{CASE_COLUMNS} WHERE c.case_no = ? AND {where} GROUP BY c.id", [case_no, *params])
        if row is None:
            raise CaseNotFound(f"no case with case number {case_no!r}")
        return self._with_unit(row)

    @locked
    def sessions_in_scope(self, scope: Scope, case_no: str | None = None) -> list[dict]:
        where, params = scope.condition()
        if case_no is not None:
            case_id = self.case_in_scope(case_no, scope)["id"]
            where, params = f"{where} AND s.case_id = ?", [*params, case_id]
        return read_sessions(self._db, where, params)

    @locked
    def require_session_in_scope(self, session_id: int, scope: Scope) -> None:
        """SessionNotFound if there is no such session or it is outside the scope (the same answer)."""
        where, params = scope.condition()
        found = one(self._db, f"SELECT 1 FROM sessions s JOIN cases c ON c.id = s.case_id WHERE s.id = ? AND {where}",
                    [session_id, *params])
        if found is None:
            raise SessionNotFound(f"no session with id {session_id}")

    def _with_unit(self, row: dict) -> dict:
        unit = one(self._db, "SELECT n.name FROM cases c JOIN units n ON n.id = c.unit_id WHERE c.id = ?", [row["id"]])
        return {**case_from_row(row), "unit": unit["name"] if unit else None}

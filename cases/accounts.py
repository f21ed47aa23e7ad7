"""Units, users and prosecutors' case assignments: the `Accounts` concern of the store.

Passwords are kept only as argon2id hashes. Every change appends its action entry ("unit.added", "user.added",
"user.changed", "user.password_set", "case.moved", "case.assigned", "case.unassigned", "session.officers") in
its own transaction, with the actor given.
"""
import logging

from cases.actors import SYSTEM_ACTOR, Account, Actor
from cases.concern import Concern
from cases.errors import AccountExists, InvalidAccount, SessionNotFound, UserNotFound
from cases.locking import locked
from cases.lookups import checked_case_id, unit_row, user_id
from cases.migrations import immediate_transaction
from cases.passwords import hash_password, needs_rehash, verify_password
from cases.reads import local_iso, now_utc_iso, one

__all__ = ["LEVELS", "ROLES", "Account", "Accounts", "check_name", "check_role"]

logger = logging.getLogger(__name__)

ROLES = ("officer", "recorder", "supervisor", "prosecutor", "admin")
LEVELS = ("city", "centre", "unit")
"""市局 / 办案中心 / 基层单位: a centre's parent is a city bureau, a unit's parent is a centre."""
PARENT_LEVEL = {"city": None, "centre": "city", "unit": "centre"}
DEFAULT_UNIT_ID = 1
MAX_NAME_CHARS = 64


_ACCOUNT_SQL = (
    "SELECT u.id, u.name, u.display_name, u.role, u.unit_id, n.name AS unit_name, n.level AS unit_level,"
    " u.password_hash, u.active, u.created_at FROM users u JOIN units n ON n.id = u.unit_id"
)


def check_name(kind: str, name: object) -> str:
    """A unit or user name: 1 to 64 printable characters, no spaces at either end, no / or \\."""
    allowed = f"a {kind} name must be 1 to {MAX_NAME_CHARS} printable characters, without / or \\ and without " \
              "spaces at either end"
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_NAME_CHARS:
        raise InvalidAccount(f"{kind} name {name!r} is not allowed: {allowed}")
    if name != name.strip() or any(not ch.isprintable() or ch in "/\\" for ch in name):
        raise InvalidAccount(f"{kind} name {name!r} is not allowed: {allowed}")
    return name


def check_role(role: object) -> str:
    if role not in ROLES:
        raise InvalidAccount(f"role {role!r} is not allowed: use one of {', '.join(ROLES)}")
    return role  # type: ignore[return-value]


class Accounts(Concern):
    """Units, users, case assignments and the unit a case belongs to."""

    # Units

    @locked
    def add_unit(self, name: str, *, level: str, parent: str | None = None, actor: Actor = SYSTEM_ACTOR) -> dict:
        """A new unit. A city bureau has no parent; a centre's parent is a city bureau, a unit's a centre."""
        check_name("unit", name)
        if level not in LEVELS:
            raise InvalidAccount(f"unit level {level!r} is not allowed: use one of {', '.join(LEVELS)}")
        with immediate_transaction(self._db):
            parent_id = None
            if PARENT_LEVEL[level] is None:
                if parent is not None:
                    raise InvalidAccount(f"a {level} unit has no parent (got parent {parent!r})")
            else:
                if parent is None:
                    raise InvalidAccount(f"a {level} unit needs a parent of level {PARENT_LEVEL[level]}")
                parent_row = unit_row(self._db, parent)
                if parent_row["level"] != PARENT_LEVEL[level]:
                    raise InvalidAccount(
                        f"the parent of a {level} unit must be of level {PARENT_LEVEL[level]}, "
                        f"but {parent!r} is {parent_row['level']}"
                    )
                parent_id = parent_row["id"]
            if one(self._db, "SELECT 1 FROM units WHERE name = ?", [name]):
                raise AccountExists(f"a unit named {name!r} exists already")
            unit_id = self._db.execute(
                "INSERT INTO units (name, level, parent_id, created_at) VALUES (?, ?, ?, ?)",
                [name, level, parent_id, now_utc_iso()],
            ).lastrowid
            self._audit.action(actor, "unit.added", detail={"unit_id": unit_id, "level": level})
        return self.unit(name)

    @locked
    def unit(self, name: str) -> dict:
        return _unit_dict(unit_row(self._db, name))

    @locked
    def list_units(self) -> list[dict]:
        rows = self._db.query(
            "SELECT n.*, p.name AS parent_name FROM units n LEFT JOIN units p ON p.id = n.parent_id ORDER BY n.id"
        )
        return [_unit_dict(row) for row in rows]

    # Users

    @locked
    def add_user(
        self, name: str, *, role: str, unit: str, password: str, display_name: str | None = None,
        actor: Actor = SYSTEM_ACTOR,
    ) -> Account:
        check_name("user", name)
        check_role(role)
        display_name = check_name("display", display_name) if display_name is not None else name
        password_hash = hash_password(password)
        now = now_utc_iso()
        with immediate_transaction(self._db):
            unit_id = unit_row(self._db, unit)["id"]
            if one(self._db, "SELECT 1 FROM users WHERE name = ?", [name]):
                raise AccountExists(f"a user named {name!r} exists already")
            new_id = self._db.execute(
                "INSERT INTO users (name, display_name, role, unit_id, password_hash, created_at,"
                " password_changed_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [name, display_name, role, unit_id, password_hash, now, now],
            ).lastrowid
            self._audit.action(actor, "user.added", detail={"user_id": new_id, "role": role})
        logger.info("added a user with role %s", role)
        return self.account(name)

    @locked
    def account(self, name: str) -> Account:
        row = one(self._db, f"{_ACCOUNT_SQL} WHERE u.name = ?", [name])
        if row is None:
            raise UserNotFound(f"no user named {name!r}")
        return _account(row)

    @locked
    def account_by_id(self, user_id: int) -> Account | None:
        """The active account with this id, or None."""
        row = one(self._db, f"{_ACCOUNT_SQL} WHERE u.id = ? AND u.active = 1", [user_id])
        return None if row is None else _account(row)

    @locked
    def list_users(self) -> list[dict]:
        return [
            {**_account(row).public(), "active": bool(row["active"]), "created_at": local_iso(row["created_at"])}
            for row in self._db.query(f"{_ACCOUNT_SQL} ORDER BY u.id")
        ]

    def authenticate(self, name: str, password: str) -> Account | None:
        """The account if `name` is an active user and `password` is theirs, else None.

        Not holding the lock while hashing: a login must not stall the other requests' store calls.
        """
        with self._lock:
            row = one(self._db, f"{_ACCOUNT_SQL} WHERE u.name = ? AND u.active = 1", [name]) \
                if isinstance(name, str) else None
        if not isinstance(password, str) or not verify_password(row["password_hash"] if row else None, password):
            return None
        assert row is not None
        if needs_rehash(row["password_hash"]):
            account = _account(row)
            with self._lock, immediate_transaction(self._db):
                self._db.execute("UPDATE users SET password_hash = ? WHERE id = ?",
                                 [hash_password(password), row["id"]])
                self._audit.action(account, "user.password_rehashed", detail={"user_id": account.id})
        return _account(row)

    @locked
    def set_password(self, name: str, password: str, *, actor: Actor = SYSTEM_ACTOR) -> None:
        """A new password (it ends every login made with the old one): "user.password_set"."""
        password_hash = hash_password(password)
        with immediate_transaction(self._db):
            self._store_password(user_id(self._db, name), password_hash)
            self._audit.action(actor, "user.password_set", detail={"user": name})

    def _store_password(self, the_user_id: int, password_hash: str) -> None:
        self._db.execute("UPDATE users SET password_hash = ?, password_changed_at = ? WHERE id = ?",
                         [password_hash, now_utc_iso(), the_user_id])
        # A new password ends every login made with the old one.
        self._db.execute("UPDATE auth_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
                         [now_utc_iso(), the_user_id])

    @locked
    def update_user(
        self,
        name: str,
        *,
        role: str | None = None,
        unit: str | None = None,
        display_name: str | None = None,
        active: bool | None = None,
        password: str | None = None,
        actor: Actor = SYSTEM_ACTOR,
    ) -> Account:
        """Change a user's role, unit, display name, password or whether they may log in (None keeps the value).

        One "user.changed" entry names the fields given (a password given ends the user's logins, as
        `set_password` does)."""
        fields = sorted(field for field, value in (("role", role), ("unit", unit), ("display_name", display_name),
                                                    ("active", active), ("password", password)) if value is not None)
        password_hash = None if password is None else hash_password(password)
        changes: dict = {}
        if role is not None:
            changes["role"] = check_role(role)
        if display_name is not None:
            changes["display_name"] = check_name("display", display_name)
        if active is not None:
            changes["active"] = int(bool(active))
        with immediate_transaction(self._db):
            the_user_id = user_id(self._db, name)
            if unit is not None:
                changes["unit_id"] = unit_row(self._db, unit)["id"]
            if password_hash is not None:
                self._store_password(the_user_id, password_hash)
            for column, value in changes.items():
                self._db.execute(f"UPDATE users SET {column} = ? WHERE id = ?", [value, the_user_id])
            if active is False:
                self._db.execute("UPDATE auth_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
                                 [now_utc_iso(), the_user_id])
            self._audit.action(actor, "user.changed", detail={"user_id": the_user_id, "fields": fields})
        return self.account(name)

    @locked
    def has_admin(self) -> bool:
        return one(self._db, "SELECT 1 FROM users WHERE role = 'admin' AND active = 1", []) is not None

    # Cases: their unit, their prosecutors, a session's officers

    @locked
    def set_case_unit(self, case_no: str, unit: str, *, actor: Actor = SYSTEM_ACTOR) -> None:
        """Move the case to `unit` ("case.moved")."""
        with immediate_transaction(self._db):
            unit_id = unit_row(self._db, unit)["id"]
            case_id = checked_case_id(self._db, case_no)
            self._db.execute("UPDATE cases SET unit_id = ? WHERE id = ?", [unit_id, case_id])
            self._audit.action(actor, "case.moved", case_no=case_no, detail={"unit": unit})

    @locked
    def assign_case(self, case_no: str, user_name: str, *, actor: Actor = SYSTEM_ACTOR) -> None:
        """Let a prosecutor read a case (read-only; only the cases assigned to them)."""
        with immediate_transaction(self._db):
            case_id = checked_case_id(self._db, case_no)
            user = one(self._db, "SELECT id, role FROM users WHERE name = ?", [user_name])
            if user is None:
                raise UserNotFound(f"no user named {user_name!r}")
            if user["role"] != "prosecutor":
                raise InvalidAccount(
                    f"only prosecutors are assigned to cases; {user_name!r} is {user['role']}, "
                    "who sees cases through their unit"
                )
            self._db.execute(
                "INSERT OR IGNORE INTO case_assignments (case_id, user_id, assigned_at) VALUES (?, ?, ?)",
                [case_id, user["id"], now_utc_iso()],
            )
            self._audit.action(actor, "case.assigned", case_no=case_no, detail={"user": user_name})

    @locked
    def unassign_case(self, case_no: str, user_name: str, *, actor: Actor = SYSTEM_ACTOR) -> None:
        with immediate_transaction(self._db):
            case_id = checked_case_id(self._db, case_no)
            self._db.execute("DELETE FROM case_assignments WHERE case_id = ? AND user_id = ?",
                             [case_id, user_id(self._db, user_name)])
            self._audit.action(actor, "case.unassigned", case_no=case_no, detail={"user": user_name})

    @locked
    def case_prosecutors(self, case_no: str) -> list[str]:
        case_id = checked_case_id(self._db, case_no)
        return [row["name"] for row in self._db.query(
            "SELECT u.name FROM case_assignments a JOIN users u ON u.id = a.user_id WHERE a.case_id = ?"
            " ORDER BY u.name", [case_id])]

    @locked
    def set_session_officers(self, session_id: int, user_names: list[str], *, actor: Actor = SYSTEM_ACTOR) -> None:
        """The officers who questioned in a session (replacing those set before)."""
        with immediate_transaction(self._db):
            if one(self._db, "SELECT 1 FROM sessions WHERE id = ?", [session_id]) is None:
                raise SessionNotFound(f"no session with id {session_id}")
            user_ids = [user_id(self._db, name) for name in user_names]
            self._db.execute("DELETE FROM session_officers WHERE session_id = ?", [session_id])
            self._db.conn.executemany("INSERT OR IGNORE INTO session_officers (session_id, user_id) VALUES (?, ?)",
                                      [(session_id, officer_id) for officer_id in user_ids])
            self._audit.action(actor, "session.officers", session_id=session_id, detail={"officers": user_names})

    @locked
    def session_officers(self, session_id: int) -> list[str]:
        return [row["name"] for row in self._db.query(
            "SELECT u.name FROM session_officers o JOIN users u ON u.id = o.user_id WHERE o.session_id = ?"
            " ORDER BY u.name", [session_id])]


def _unit_dict(row: dict) -> dict:
    return {"id": row["id"], "name": row["name"], "level": row["level"], "parent": row["parent_name"],
            "created_at": local_iso(row["created_at"])}


def _account(row: dict) -> Account:
    return Account(id=row["id"], name=row["name"], display_name=row["display_name"], role=row["role"],
                   unit_id=row["unit_id"], unit_name=row["unit_name"], unit_level=row["unit_level"])

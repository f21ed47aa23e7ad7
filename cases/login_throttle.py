"""Failed logins: counted per account and per (account, address), with a delay that doubles, and unlocked
by an administrator.

Why not per address: a police station reaches the service through one NAT address, so counting by address
let one officer's typos lock out the whole station. An address is only ever counted together with the
account tried from it; the account alone is counted too (with a higher allowance), so that guessing one
account's password from many addresses is slowed as well.

The counts live in the database (table `login_failures`, the account's own row has address ''), not in the
service's memory: `bilu users unlock` in another process clears them, and several service nodes share them.
Times are Unix seconds (`now` is a parameter so tests need not sleep). Names that are no account are
counted like any other, so a throttled answer never says whether an account exists.
"""
import time
from dataclasses import dataclass

from cases.actors import Actor
from cases.concern import Concern
from cases.errors import UserNotFound
from cases.locking import locked
from cases.migrations import immediate_transaction
from cases.reads import one

__all__ = ["LoginThrottle", "ThrottlePolicy", "LoginWait"]

ACCOUNT_ROW = ""
"""The address of an account's own row (every failure from any address counts there)."""
MAX_NAME_CHARS = 64


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    """How many failures are free, and how long the delay after them grows (values from the settings)."""

    free_failures: int  # per (account, address): the delay starts with this failure
    account_free_failures: int  # per account from all addresses
    first_delay_s: float
    max_delay_s: float
    window_s: float  # a count is forgotten this long after its last failure

    def delay_s(self, failures: int, free: int) -> float:
        """The wait after the `failures`-th failure: none before `free`, then first_delay_s, doubling."""
        if failures < free:
            return 0.0
        return min(self.first_delay_s * 2 ** min(failures - free, 30), self.max_delay_s)


@dataclass(frozen=True, slots=True)
class LoginWait:
    """A login refused for now: how long to wait, and whether the whole account (not one address) is held."""

    wait_s: float
    whole_account: bool


class LoginThrottle(Concern):
    """Failed-login counts: the `login_throttle` concern of the store."""

    @locked
    def login_wait(self, name: str, address: str, *, now: float | None = None) -> LoginWait | None:
        """How long a login to `name` from `address` must wait, or None if it may be tried now."""
        now = time.time() if now is None else now
        rows = self._db.query(
            "SELECT address, blocked_until FROM login_failures WHERE user_name = ? AND address IN (?, ?)"
            " AND blocked_until > ?", [_key(name), ACCOUNT_ROW, address, now])
        waits = [(row["blocked_until"] - now, row["address"] == ACCOUNT_ROW) for row in rows]
        if not waits:
            return None
        wait_s, whole_account = max(waits)
        return LoginWait(wait_s=wait_s, whole_account=whole_account)

    @locked
    def record_login_failure(self, name: str, address: str, policy: ThrottlePolicy, *, actor: Actor,
                             now: float | None = None) -> LoginWait | None:
        """Count a failed login (audited "auth.login_failed", and "auth.login_throttled" when it starts a wait);
        returns the wait it starts, if it starts one. `actor`: who tried (the api names the address)."""
        now = time.time() if now is None else now
        key = _key(name)
        started: list[LoginWait] = []
        with immediate_transaction(self._db):
            # Counts nobody added to for a window are gone: the table holds only the recent past.
            self._db.execute("DELETE FROM login_failures WHERE last_failed_at <= ? AND blocked_until <= ?",
                             [now - policy.window_s, now])
            for row_address, free in ((address, policy.free_failures), (ACCOUNT_ROW, policy.account_free_failures)):
                row = one(self._db, "SELECT failures, last_failed_at FROM login_failures"
                                    " WHERE user_name = ? AND address = ?", [key, row_address])
                failures = 1 if row is None or row["last_failed_at"] <= now - policy.window_s \
                    else row["failures"] + 1
                delay_s = policy.delay_s(failures, free)
                self._db.execute(
                    "INSERT INTO login_failures (user_name, address, failures, last_failed_at, blocked_until)"
                    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_name, address) DO UPDATE SET"
                    " failures = excluded.failures, last_failed_at = excluded.last_failed_at,"
                    " blocked_until = excluded.blocked_until",
                    [key, row_address, failures, now, now + delay_s])
                if delay_s > 0:
                    started.append(LoginWait(wait_s=delay_s, whole_account=row_address == ACCOUNT_ROW))
            self._audit.action(actor, "auth.login_failed", detail={"name": key})
            for wait in started:
                self._audit.action(actor, "auth.login_throttled", detail={
                    "name": key, "wait_s": round(wait.wait_s),
                    "scope": "account" if wait.whole_account else "account_at_address"})
        return max(started, key=lambda wait: wait.wait_s) if started else None

    @locked
    def clear_login_failures(self, name: str, address: str, *, actor: Actor) -> None:
        """A successful login (by `actor`): its counts, this address's and the account's, start again from nothing
        (audited "auth.login_failures_cleared" when there were any)."""
        with immediate_transaction(self._db):
            cleared = self._db.execute("DELETE FROM login_failures WHERE user_name = ? AND address IN (?, ?)",
                                       [_key(name), ACCOUNT_ROW, address]).rowcount
            if cleared:
                self._audit.action(actor, "auth.login_failures_cleared", detail={"name": _key(name)})

    @locked
    def login_locks(self, *, now: float | None = None) -> list[dict]:
        """The accounts held now: name, address ('' for the whole account), failures, seconds left."""
        now = time.time() if now is None else now
        return [{"name": row["user_name"], "address": row["address"] or None, "failures": row["failures"],
                 "wait_s": round(row["blocked_until"] - now, 1)}
                for row in self._db.query(
                    "SELECT * FROM login_failures WHERE blocked_until > ? ORDER BY user_name, address", [now])]

    @locked
    def unlock_user(self, name: str, *, actor: Actor) -> int:
        """Forget every failed login of the account `name` (from every address), audited; returns how many
        counts were held. UserNotFound if there is no such account."""
        with immediate_transaction(self._db):
            if one(self._db, "SELECT 1 FROM users WHERE name = ?", [name]) is None:
                raise UserNotFound(f"no user named {name!r}")
            held = self._db.execute("DELETE FROM login_failures WHERE user_name = ?", [name]).rowcount
            self._audit.action(actor, "user.unlocked", detail={"user": name, "counts_cleared": held})
        return held


def _key(name: str) -> str:
    """What is stored for a tried name: bounded, so that a flood of long names cannot fill the table."""
    return name[:MAX_NAME_CHARS] if isinstance(name, str) else ""

"""Login sessions (browser cookies) and API tokens: random secrets, stored only as their sha256.

The `Tokens` concern of the store. The secret is shown once, when issued; a stolen database gives no usable
token. A login is the issue of a session token: its "auth.login" entry is written with the token row, as a
logout's ("auth.logout") is with the revocation; API tokens give "auth.token_issued" and "auth.token_revoked".
"""
import hashlib
import secrets
from datetime import datetime, timedelta, timezone

from cases.accounts import Account, Accounts
from cases.concern import Concern, Shared
from cases.errors import InvalidAccount
from cases.locking import locked
from cases.migrations import immediate_transaction
from cases.reads import local_iso, now_utc_iso, one

TOKEN_KINDS = ("session", "api")
MAX_TOKEN_LIFETIME_S = 366 * 24 * 3600


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Tokens(Concern):
    """Login sessions and API tokens; the account a token stands for comes from the `Accounts` concern."""

    def __init__(self, shared: Shared, *, accounts: Accounts) -> None:
        super().__init__(shared)
        self._accounts = accounts

    @locked
    def issue_token(self, account: Account, *, kind: str, lifetime_s: int, label: str | None = None,
                    via: str | None = None) -> dict:
        """A new token for the account: `{"id", "token", "kind", "expires_at"}` (the token is not kept).

        The account is the actor. A session token is a login: "auth.login" with `via` (how they logged in,
        "form" or "json"); an API token, "auth.token_issued" with its id and lifetime in days."""
        if kind not in TOKEN_KINDS:
            raise InvalidAccount(f"token kind {kind!r} is not allowed: use one of {', '.join(TOKEN_KINDS)}")
        if isinstance(lifetime_s, bool) or not isinstance(lifetime_s, int) or not 60 <= lifetime_s <= MAX_TOKEN_LIFETIME_S:
            raise InvalidAccount(f"a token lifetime must be 60 s to {MAX_TOKEN_LIFETIME_S} s, not {lifetime_s!r}")
        if label is not None and (not isinstance(label, str) or len(label) > 100):
            raise InvalidAccount("a token label must be text of at most 100 characters")
        token = secrets.token_urlsafe(32)
        expires_at = (datetime.now(timezone.utc) + timedelta(seconds=lifetime_s)).isoformat(timespec="milliseconds")
        with immediate_transaction(self._db):
            token_id = self._db.execute(
                "INSERT INTO auth_tokens (user_id, kind, token_sha256, label, created_at, expires_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [account.id, kind, token_digest(token), label, now_utc_iso(), expires_at],
            ).lastrowid
            if kind == "session":
                self._audit.action(account, "auth.login", detail={} if via is None else {"via": via})
            else:
                self._audit.action(account, "auth.token_issued",
                                   detail={"token_id": token_id, "days": lifetime_s // (24 * 3600)})
        return {"id": token_id, "token": token, "kind": kind, "label": label, "expires_at": local_iso(expires_at)}

    @locked
    def account_for_token(self, token: str, *, kind: str) -> tuple[Account, int] | None:
        """(the account, the token id) for a live token of this kind of an active user, else None."""
        if not isinstance(token, str) or not token or len(token) > 200:
            return None
        row = one(
            self._db,
            "SELECT id, user_id, expires_at FROM auth_tokens WHERE token_sha256 = ? AND kind = ? AND revoked_at IS NULL",
            [token_digest(token), kind],
        )
        if row is None or datetime.fromisoformat(row["expires_at"]) <= datetime.now(timezone.utc):
            return None
        account = self._accounts.account_by_id(row["user_id"])
        return None if account is None else (account, row["id"])

    @locked
    def revoke_token(self, account: Account, token_id: int) -> bool:
        """Revoke one of the account's tokens (the account acts); False if it has no such live token.

        A session token's revocation is a logout ("auth.logout"), an API token's "auth.token_revoked"."""
        with immediate_transaction(self._db):
            row = one(self._db, "SELECT kind FROM auth_tokens WHERE id = ? AND user_id = ? AND revoked_at IS NULL",
                      [token_id, account.id])
            if row is None:
                return False
            self._db.execute("UPDATE auth_tokens SET revoked_at = ? WHERE id = ?", [now_utc_iso(), token_id])
            if row["kind"] == "session":
                self._audit.action(account, "auth.logout")
            else:
                self._audit.action(account, "auth.token_revoked", detail={"token_id": token_id})
        return True

    @locked
    def list_tokens(self, account: Account) -> list[dict]:
        """The account's live API tokens (never the secrets)."""
        return [
            {"id": row["id"], "label": row["label"], "created_at": local_iso(row["created_at"]),
             "expires_at": local_iso(row["expires_at"])}
            for row in self._db.query(
                "SELECT id, label, created_at, expires_at FROM auth_tokens WHERE user_id = ? AND kind = 'api'"
                " AND revoked_at IS NULL AND expires_at > ? ORDER BY id", [account.id, now_utc_iso()])
        ]

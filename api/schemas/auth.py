"""Logging in, who is logged in, API tokens."""
from typing import Annotated, Literal

from pydantic import Field
from typing_extensions import NotRequired

from api.schemas.accounts import UserPublic
from api.schemas.base import Public, Timestamp


class LoginPublic(Public):
    user: UserPublic
    csrf_token: Annotated[str, Field(description="Send it back in the X-CSRF-Token header on unsafe requests.")]
    expires_at: Timestamp


class MePublic(Public):
    user: UserPublic
    via: Literal["bearer", "cookie"]
    csrf_token: NotRequired[Annotated[str, Field(description="Only for a cookie login: the token the page send.")]]


class TokenIssued(Public):
    id: int
    token: Annotated[str, Field(description="The secret: shown only here, once. Send it as `Authorization: Bearer`.")]
    kind: Literal["api", "session"]
    label: str | None
    expires_at: Timestamp


class TokenPublic(Public):
    """A live API token of the user (never its secret)."""

    id: int
    label: str | None
    created_at: Timestamp
    expires_at: Timestamp

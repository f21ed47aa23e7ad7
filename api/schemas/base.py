"""What every response model shares: the shape is closed, and times are the store's local ISO 8601 strings.

`extra="forbid"`: a key the store returns that a model does not name fails the response (500 in a test) instead
of being dropped silently, so a model cannot fall behind what a route returns.
"""
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"},
                                 description="ISO 8601 in the server's local time, with its offset.")]
"""A string, not a datetime: validating it into one would print it back with six fraction digits, not three."""


class Public(BaseModel):
    """The base of every response model: exactly these keys, nothing else."""

    model_config = ConfigDict(extra="forbid")

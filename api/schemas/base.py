"""What every response schema shares: the shape is closed, and times are the store's local ISO 8601 strings.

TypedDicts, not BaseModels: the routes return the store's dicts, and these say exactly which keys those hold
(sqlite-utils' "dicts in, dicts out"). Validating a 4-hour transcript (6,000 lines, 70,000 words) into model
instances cost 0.45 s of CPU per request, as TypedDicts 0.1 s.

`extra="forbid"`: a key the store returns that a schema does not name fails the response (a 500 in a test)
instead of being dropped silently, so a schema cannot fall behind what a route returns.
"""
from typing import Annotated

from pydantic import ConfigDict, Field, with_config
from typing_extensions import TypedDict

Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"},
                                 description="ISO 8601 in the server's local time, with its offset.")]
"""A string, not a datetime: validating it into one would print it back with six fraction digits, not three."""


@with_config(ConfigDict(extra="forbid"))
class Public(TypedDict):
    """The base of every response schema: exactly these keys, nothing else (subclasses inherit the config)."""

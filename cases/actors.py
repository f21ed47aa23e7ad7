"""Who acts on the store: an authenticated `Account`, or a name for the command line and the pipeline."""
from dataclasses import dataclass

from cases.audit_chain import SYSTEM_ACTOR

__all__ = ["Account", "Actor", "SYSTEM_ACTOR"]


@dataclass(frozen=True, slots=True)
class Account:
    """Who is acting: what crosses from the store to the api for an authenticated user."""

    id: int
    name: str
    display_name: str
    role: str
    unit_id: int
    unit_name: str
    unit_level: str

    def public(self) -> dict:
        return {"name": self.name, "display_name": self.display_name, "role": self.role,
                "unit": self.unit_name, "unit_level": self.unit_level}


Actor = Account | str
"""An account, or a name such as "cli:root" for the command line, "system" (SYSTEM_ACTOR) for the pipeline,
the recorder and recovery. Every store method that changes data takes one and writes it into its audit entry."""

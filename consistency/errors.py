"""The consistency package's exceptions: a written record that cannot be read is bad input."""
from error_kinds import BadInput

__all__ = ["WrittenRecordError"]


class WrittenRecordError(BadInput):
    """A written record (txt or docx) cannot be read, or has no 问/答 block; the message says which."""

    code = "written_record_invalid"

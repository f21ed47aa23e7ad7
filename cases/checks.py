"""Checks on what enters the store: each raises a StoreError subclass saying what is allowed.

Bad input is checked once, here, where it enters; the database's own constraints are the last line.
"""

import json
import math
import re
from pathlib import PurePosixPath

from cases.errors import InvalidCaseNumber, StoreError
from transcribe.hallucination import REASONS

MAX_CASE_NO_CHARS = 64
MAX_SECONDS = 366 * 24 * 3600  # a time in a recording: a year is far beyond any, and stays inside SQLite's integers
SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def check_case_no(case_no: object) -> str:
    """Return `case_no` if it is a valid case number, else raise InvalidCaseNumber.

    Allowed: 1 to 64 printable characters (Chinese included), no `/` or `\\` (case numbers may
    become folder and file names), no leading or trailing spaces, not "." or "..".
    """
    return _check_name("case number", case_no, InvalidCaseNumber)


def check_room_name(room: object) -> str:
    """Return `room` if it is a valid interview-room name (the same rules as a case number), else StoreError."""
    return _check_name("room name", room, StoreError)


def _check_name(what: str, value: object, error: type[StoreError]) -> str:
    allowed = (
        f"a {what} must be 1 to {MAX_CASE_NO_CHARS} printable characters (UTF-8) without / or \\, "
        "without leading or trailing spaces, and not . or .."
    )
    if not isinstance(value, str):
        raise error(f"{what} {_shown(value)} is not a string: {allowed}")
    if not 1 <= len(value) <= MAX_CASE_NO_CHARS:
        raise error(f"{what} {_shown(value)} has {len(value)} characters: {allowed}")
    # U+FFFD is what bytes that were not UTF-8 became on the way in: a garbled name, not a name.
    bad = sorted({ch for ch in value if not ch.isprintable() or ch in "/\\\ufffd"})
    if bad:
        raise error(f"{what} {_shown(value)} contains {bad!r}: {allowed}")
    if value != value.strip() or value in (".", ".."):
        raise error(f"{what} {_shown(value)} is not allowed: {allowed}")
    return value


def _shown(value: object) -> str:
    """The value as an error message shows it: a 10,000-character one is cut, not echoed whole."""
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:60]}… ({len(text)} characters)"


def to_ms(seconds: float, name: str) -> int:
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not math.isfinite(seconds):
        raise StoreError(f"{name} must be a finite number of seconds, not {seconds!r}")
    if seconds < 0:
        raise StoreError(f"{name} must not be negative (got {seconds})")
    if seconds > MAX_SECONDS:
        raise StoreError(f"{name} must be at most {MAX_SECONDS} s (got {seconds})")
    return round(seconds * 1000)


def to_json(value: dict, name: str) -> str:
    if not isinstance(value, dict):
        raise StoreError(f"{name} must be a dict, not {type(value).__name__}")
    try:
        return json.dumps(value, ensure_ascii=False, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise StoreError(
            f"{name} must hold only JSON values (str, number, bool, None, list, dict): {error}"
        ) from error


def check_choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise StoreError(f"{name} {value!r} is not allowed: use one of {', '.join(allowed)}")


def checked_count(name: str, value: int, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise StoreError(f"{name} must be an integer of at least {minimum}, not {value!r}")
    return value


def checked_probability(probability: float) -> float:
    if not isinstance(probability, (int, float)) or not 0.0 <= probability <= 1.0:
        raise StoreError(f"a word probability must be a number from 0 to 1, not {probability!r}")
    return float(probability)


def utterance_marks(utterance) -> dict:
    """The columns of an utterance's suspicion and audio measure (NULL where it was not judged), checked."""
    if utterance.suspect is not None and utterance.suspect not in REASONS:
        raise StoreError(f"an utterance's suspect reason must be one of {', '.join(REASONS)} or None, "
                         f"not {utterance.suspect!r}")
    measured = utterance.speech_probability is not None
    if measured and not 0.0 <= utterance.speech_probability <= 1.0:
        raise StoreError(f"a speech probability must be a number from 0 to 1, not {utterance.speech_probability!r}")
    if utterance.energy_db is not None and not math.isfinite(utterance.energy_db):
        raise StoreError(f"an utterance's energy_db must be a finite number, not {utterance.energy_db!r}")
    return {
        "suspect": utterance.suspect,
        "not_speech": int(bool(utterance.not_speech)) if measured or utterance.not_speech else None,
        "speech_probability": float(utterance.speech_probability) if measured else None,
        "energy_db": None if utterance.energy_db is None else float(utterance.energy_db),
    }


def checked_sha256(audio_sha256: str) -> str | None:
    """"" (not known yet) becomes NULL; anything else must be 64 lowercase hex digits."""
    if audio_sha256 == "":
        return None
    if not isinstance(audio_sha256, str) or not SHA256_HEX.fullmatch(audio_sha256):
        raise StoreError(
            f"audio_sha256 must be 64 lowercase hexadecimal digits (or \"\" if not known yet), "
            f"not {audio_sha256!r}"
        )
    return audio_sha256


def checked_audio_path(audio_path: str) -> str:
    """A path relative to the home folder that stays inside it, stored with forward slashes."""
    if not isinstance(audio_path, str) or not audio_path.strip():
        raise StoreError(f"audio_path must be a non-empty path relative to the store's home, not {audio_path!r}")
    path = PurePosixPath(audio_path.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or re.match(r"^[A-Za-z]:", audio_path):
        raise StoreError(
            f"audio_path {audio_path!r} must be relative to the store's home and stay inside it "
            "(no leading /, no drive letter, no ..)"
        )
    return path.as_posix()

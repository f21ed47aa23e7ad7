"""Who is who: the role of each seat (讯问人, 记录人, 被讯问人 ...) and of each diarized speaker."""
import re
from collections.abc import Sequence

from diarize.types import SpeakerTurn
from error_kinds import BadInput

ROLES = ("讯问人", "记录人", "被讯问人", "翻译", "其他")
"""The usual people in an interview room: who asks, who writes, who is questioned, interpreter, other."""
EXTRA_ROLES = ("法定代理人", "合适成年人")
"""Also accepted: a minor's legal representative or another appropriate adult (CPL 281)."""
ACCEPTED_ROLES = ROLES + EXTRA_ROLES

_SEPARATORS = re.compile(r"[,，、]")


class RoleError(BadInput):
    """A seat role list names a role we do not know, or has an empty item."""

    code = "role_invalid"


def parse_seat_roles(text: str) -> tuple[str, ...]:
    """"讯问人,被讯问人" -> ("讯问人", "被讯问人"): one role per seat, in seat order.

    Items are separated by ",", "，" or "、"; spaces around them are ignored. Raises RoleError for an
    unknown role or an empty item, naming it and listing the accepted roles.
    """
    if not isinstance(text, str):
        raise RoleError(f"seat roles must be text like '讯问人,被讯问人', got {type(text).__name__}")
    roles = []
    for position, item in enumerate(_SEPARATORS.split(text), start=1):
        role = item.strip()
        if not role:
            raise RoleError(
                f"seat roles {text!r}: item {position} is empty; give one role per seat, separated by "
                f"',', '，' or '、', from: {'、'.join(ACCEPTED_ROLES)}"
            )
        if role not in ACCEPTED_ROLES:
            raise RoleError(
                f"seat roles {text!r}: {role!r} (item {position}) is not a known role; "
                f"allowed: {'、'.join(ACCEPTED_ROLES)}"
            )
        roles.append(role)
    return tuple(roles)


def speaker_roles(turns: Sequence[SpeakerTurn], seat_roles: Sequence[str]) -> dict[str, str | None]:
    """The role of every speaker in `turns`.

    Channel turns (one microphone per seat): a speaker gets the role of their seat, seat_roles[channel],
    or None when fewer roles than seats were listed. Voice turns (channel None, one microphone for the
    room): the i-th speaker in order of first appearance gets seat_roles[i], so in a one-microphone room
    the roles are given in the order people first speak; speakers beyond the list get None.
    """
    roles: dict[str, str | None] = {}
    voices_seen = 0
    for turn in sorted(turns, key=lambda t: (t.start_s, t.end_s)):
        if turn.speaker in roles:
            continue
        if turn.channel is not None:
            index = turn.channel
        else:
            index = voices_seen
            voices_seen += 1
        roles[turn.speaker] = seat_roles[index] if 0 <= index < len(seat_roles) else None
    return roles

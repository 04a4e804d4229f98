"""What IGMPv3 and MLDv2 share: group record types and filter modes.

RFC 3810 5.2.12 defines the MLDv2 Multicast Address Record types with the same
numbers, names and meaning as the IGMPv3 group record types of RFC 3376 4.2.12,
and both protocols keep per-group state in INCLUDE or EXCLUDE filter mode
(RFC 3376 6.2.1, RFC 3810 7.2). One definition serves both codecs and the
membership state machine.
"""

from __future__ import annotations

import enum

__all__ = ["EXCLUDE", "INCLUDE", "RecordType", "record_type_name"]

#: Filter modes (RFC 3376 3.2, RFC 3810 4.2 / 7.2).
INCLUDE = "include"
EXCLUDE = "exclude"


class RecordType(enum.IntEnum):
    """Group / multicast address record types (RFC 3376 4.2.12, RFC 3810 5.2.12)."""

    MODE_IS_INCLUDE = 1
    MODE_IS_EXCLUDE = 2
    CHANGE_TO_INCLUDE_MODE = 3
    CHANGE_TO_EXCLUDE_MODE = 4
    ALLOW_NEW_SOURCES = 5
    BLOCK_OLD_SOURCES = 6

    @property
    def short(self) -> str:
        """RFC 3376 / 3810 short name: IS_IN, IS_EX, TO_IN, TO_EX, ALLOW, BLOCK."""
        return _SHORT[self]

    @property
    def is_current_state(self) -> bool:
        return self in (RecordType.MODE_IS_INCLUDE, RecordType.MODE_IS_EXCLUDE)

    @property
    def is_filter_mode_change(self) -> bool:
        return self in (RecordType.CHANGE_TO_INCLUDE_MODE, RecordType.CHANGE_TO_EXCLUDE_MODE)

    @property
    def is_source_list_change(self) -> bool:
        return self in (RecordType.ALLOW_NEW_SOURCES, RecordType.BLOCK_OLD_SOURCES)

    @property
    def is_exclude(self) -> bool:
        """IS_EX or TO_EX: the host asks for all sources but the listed ones."""
        return self in (RecordType.MODE_IS_EXCLUDE, RecordType.CHANGE_TO_EXCLUDE_MODE)

    @classmethod
    def parse(cls, text: str) -> RecordType:
        """From a short name (``to_ex``, ``IS_IN``, ``allow``), a long name or a number."""
        key = text.strip().upper().replace("-", "_")
        if key.isdigit() and int(key) in BY_VALUE:
            return cls(int(key))
        for member in cls:
            if key in (member.name, member.short):
                return member
        raise ValueError(f"unknown record type {text!r} (use is_in, is_ex, to_in, to_ex, allow or block)")


_SHORT = {
    RecordType.MODE_IS_INCLUDE: "IS_IN",
    RecordType.MODE_IS_EXCLUDE: "IS_EX",
    RecordType.CHANGE_TO_INCLUDE_MODE: "TO_IN",
    RecordType.CHANGE_TO_EXCLUDE_MODE: "TO_EX",
    RecordType.ALLOW_NEW_SOURCES: "ALLOW",
    RecordType.BLOCK_OLD_SOURCES: "BLOCK",
}
#: value -> member, for the decoders' trusted path.
BY_VALUE = {int(member): member for member in RecordType}


def record_type_name(value: int) -> str:
    """Short name of a record type, or ``type-N`` for one the RFCs do not define."""
    member = BY_VALUE.get(value)
    return member.short if member is not None else f"type-{value}"

"""IGMP message models: frozen, validated values with no I/O.

One class per message (RFC 1112 appendix I, RFC 2236 section 2, RFC 3376 section 4):

======================  ====  ===========================================
class                   type  what it is
======================  ====  ===========================================
:class:`V1Query`        0x11  8 bytes, Max Resp Code 0 (RFC 3376 7.1)
:class:`V1Report`       0x12  RFC 1112
:class:`V2Query`        0x11  8 bytes, Max Resp Time in 0.1 s (RFC 2236 2.2)
:class:`V2Report`       0x16  RFC 2236
:class:`V2Leave`        0x17  RFC 2236
:class:`V3Query`        0x11  12 + 4N bytes (RFC 3376 4.1)
:class:`V3Report`       0x22  group records (RFC 3376 4.2)
:class:`UnknownMessage` any   DVMRP, mtrace, MRD and anything else, kept raw
======================  ====  ===========================================

Fields that are reserved or unused on the wire are kept (default 0) so that
model -> bytes -> model is the identity even for odd input. Addresses are
:class:`ipaddress.IPv4Address`; constructors also accept dotted strings and ints.
Times are exposed in seconds through properties; the raw codes stay available.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Address
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar, Union

from mdiag.core.igmp import floatcode
from mdiag.core.records import BY_VALUE as _BY_VALUE
from mdiag.core.records import RecordType as RecordType
from mdiag.core.records import record_type_name as record_type_name

ZERO = IPv4Address(0)
ALL_SYSTEMS = IPv4Address("224.0.0.1")
ALL_ROUTERS = IPv4Address("224.0.0.2")
IGMPV3_ROUTERS = IPv4Address("224.0.0.22")
ALL_SNOOPERS = IPv4Address("224.0.0.106")

QUERY = 0x11
V1_REPORT = 0x12
V2_REPORT = 0x16
V2_LEAVE = 0x17
V3_REPORT = 0x22

#: Names of IGMP type codes (IANA IGMP Type Numbers), for display of UnknownMessage.
TYPE_NAMES: dict[int, str] = {
    0x11: "Membership Query",
    0x12: "IGMPv1 Membership Report",
    0x13: "DVMRP",
    0x14: "PIMv1",
    0x15: "Cisco Trace",
    0x16: "IGMPv2 Membership Report",
    0x17: "IGMPv2 Leave Group",
    0x1E: "Multicast Traceroute Response",
    0x1F: "Multicast Traceroute",
    0x22: "IGMPv3 Membership Report",
    0x30: "Multicast Router Advertisement",
    0x31: "Multicast Router Solicitation",
    0x32: "Multicast Router Termination",
}

#: What constructors accept for an address: an IPv4Address, dotted text, an int or 4 bytes.
AddressLike = Union[IPv4Address, str, int, bytes]

_address_cache: dict[Any, IPv4Address] = {}


def cached_address(kind: Any, cache: dict[Any, Any], value: Any) -> Any:
    """``kind(value)`` (IPv4Address or IPv6Address) through ``cache``; ValueError naming the
    family for anything that is not such an address. Shared by the IGMP and MLD models."""
    if type(value) is kind:
        return value
    cached = cache.get(value)
    if cached is not None:
        return cached
    try:
        result = kind(value)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{value!r} is not an {kind.__name__[:4]} address") from exc
    if len(cache) > 65536:
        cache.clear()
    cache[value] = result
    return result


def address(value: AddressLike) -> IPv4Address:
    """An IPv4Address from an address, dotted string, int or 4 bytes (cached)."""
    result: IPv4Address = cached_address(IPv4Address, _address_cache, value)
    return result


def _is_multicast(addr: IPv4Address) -> bool:
    return (int(addr) >> 28) == 0xE


def _check_byte(name: str, value: int, bits: int = 8) -> None:
    if type(value) is not int and not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if not 0 <= value < (1 << bits):
        raise ValueError(f"{name} {value} does not fit in {bits} bits")


def _addresses(name: str, values: Any) -> tuple[IPv4Address, ...]:
    if isinstance(values, (str, bytes, IPv4Address)):
        raise TypeError(f"{name} must be a sequence of addresses, not a single {type(values).__name__}")
    return tuple(address(v) for v in values)


# --------------------------------------------------------------------------- v1 / v2


@dataclass(frozen=True, slots=True)
class V1Query:
    """IGMPv1 Host Membership Query (RFC 1112 appendix I): 8 bytes, code 0.

    Hosts answer within 10 s. ``group`` is 0 on the wire in a conforming query.
    """

    group: IPv4Address = ZERO

    type: ClassVar[int] = QUERY
    version: ClassVar[int] = 1
    kind: ClassVar[str] = "v1-query"

    if TYPE_CHECKING:  # constructors take addresses as text or ints too (converted in __post_init__)
        def __init__(self, group: AddressLike = ZERO) -> None: ...

    def __post_init__(self) -> None:
        object.__setattr__(self, "group", address(self.group))

    @property
    def max_resp_time(self) -> float:
        """A v1 query carries no time; hosts use 10 s (RFC 2236 4)."""
        return 10.0

    @property
    def is_general(self) -> bool:
        return True


@dataclass(frozen=True, slots=True)
class _V1V2Group:
    group: IPv4Address
    #: Byte 1, unused in reports and leaves; 0 when sent (RFC 2236 2.2).
    unused: int = 0

    if TYPE_CHECKING:  # constructors take addresses as text or ints too (converted in __post_init__)
        def __init__(self, group: AddressLike, unused: int = 0) -> None: ...

    def __post_init__(self) -> None:
        object.__setattr__(self, "group", address(self.group))
        _check_byte("unused byte", self.unused)


@dataclass(frozen=True, slots=True)
class V1Report(_V1V2Group):
    """IGMPv1 Host Membership Report for ``group`` (RFC 1112 appendix I)."""

    type: ClassVar[int] = V1_REPORT
    version: ClassVar[int] = 1
    kind: ClassVar[str] = "v1-report"

    if TYPE_CHECKING:
        def __init__(self, group: AddressLike, unused: int = 0) -> None: ...


@dataclass(frozen=True, slots=True)
class V2Report(_V1V2Group):
    """IGMPv2 Membership Report for ``group`` (RFC 2236 2)."""

    type: ClassVar[int] = V2_REPORT
    version: ClassVar[int] = 2
    kind: ClassVar[str] = "v2-report"

    if TYPE_CHECKING:
        def __init__(self, group: AddressLike, unused: int = 0) -> None: ...


@dataclass(frozen=True, slots=True)
class V2Leave(_V1V2Group):
    """IGMPv2 Leave Group for ``group`` (RFC 2236 2, sent to 224.0.0.2)."""

    type: ClassVar[int] = V2_LEAVE
    version: ClassVar[int] = 2
    kind: ClassVar[str] = "v2-leave"

    if TYPE_CHECKING:
        def __init__(self, group: AddressLike, unused: int = 0) -> None: ...


@dataclass(frozen=True, slots=True)
class V2Query:
    """IGMPv2 Membership Query (RFC 2236 2): general (group 0) or group-specific.

    ``max_resp_code`` is linear in tenths of a second (1..255; 0 would make it a v1
    query, RFC 3376 7.1).
    """

    max_resp_code: int = 100
    group: IPv4Address = ZERO

    type: ClassVar[int] = QUERY
    version: ClassVar[int] = 2

    if TYPE_CHECKING:  # constructors take addresses as text or ints too (converted in __post_init__)
        def __init__(self, max_resp_code: int = 100, group: AddressLike = ZERO) -> None: ...

    def __post_init__(self) -> None:
        _check_byte("max resp code", self.max_resp_code)
        if self.max_resp_code == 0:
            raise ValueError("an IGMPv2 query needs a max response time above 0 (code 0 is IGMPv1)")
        object.__setattr__(self, "group", address(self.group))

    @property
    def kind(self) -> str:
        return "v2-query" if self.is_general else "v2-group-query"

    @property
    def max_resp_time(self) -> float:
        """Seconds (RFC 2236 2.2: units of 1/10 s)."""
        return self.max_resp_code / 10

    @property
    def is_general(self) -> bool:
        return int(self.group) == 0

    @classmethod
    def from_seconds(cls, max_resp_time: float, group: IPv4Address | str | int = ZERO) -> V2Query:
        """Query with a response time in seconds (0.1 .. 25.5)."""
        tenths = floatcode._tenths(max_resp_time)
        if not 1 <= tenths <= 255:
            raise ValueError(f"IGMPv2 max response time {max_resp_time} s is outside 0.1..25.5 s")
        return cls(tenths, address(group))


# --------------------------------------------------------------------------- v3


@dataclass(frozen=True, slots=True)
class V3Query:
    """IGMPv3 Membership Query (RFC 3376 4.1).

    General (group 0, no sources), group-specific (group, no sources) or
    group-and-source-specific (group and sources). ``max_resp_code`` and ``qqic``
    are float codes (4.1.1, 4.1.7); ``reserved`` is the top nibble of byte 8
    (RFC 9776 calls it Flags).
    """

    max_resp_code: int = 100
    group: IPv4Address = ZERO
    s_flag: bool = False
    qrv: int = 2
    qqic: int = 125
    sources: tuple[IPv4Address, ...] = ()
    reserved: int = 0

    type: ClassVar[int] = QUERY
    version: ClassVar[int] = 3

    if TYPE_CHECKING:  # constructors take addresses as text or ints too (converted in __post_init__)
        def __init__(self, max_resp_code: int = 100, group: AddressLike = ZERO, s_flag: bool = False,
                     qrv: int = 2, qqic: int = 125, sources: Iterable[AddressLike] = (),
                     reserved: int = 0) -> None: ...

    def __post_init__(self) -> None:
        _check_byte("max resp code", self.max_resp_code)
        _check_byte("QQIC", self.qqic)
        _check_byte("QRV", self.qrv, 3)
        _check_byte("reserved bits", self.reserved, 4)
        object.__setattr__(self, "s_flag", bool(self.s_flag))
        object.__setattr__(self, "group", address(self.group))
        sources = _addresses("sources", self.sources)
        if len(sources) > 0xFFFF:
            raise ValueError(f"{len(sources)} sources do not fit the 16-bit Number of Sources")
        object.__setattr__(self, "sources", sources)

    @property
    def kind(self) -> str:
        if self.sources:
            return "v3-group-source-query"
        return "v3-query" if int(self.group) == 0 else "v3-group-query"

    @property
    def is_general(self) -> bool:
        return int(self.group) == 0 and not self.sources

    @property
    def max_resp_time(self) -> float:
        """Seconds (RFC 3376 4.1.1)."""
        return floatcode.CODE_VALUES[self.max_resp_code] / 10

    @property
    def qqi(self) -> int:
        """Querier's Query Interval in seconds (RFC 3376 4.1.7; 0 means unspecified)."""
        return floatcode.CODE_VALUES[self.qqic]

    @classmethod
    def build(
        cls,
        *,
        group: IPv4Address | str | int = ZERO,
        sources: Any = (),
        max_resp_time: float = 10.0,
        s_flag: bool = False,
        qrv: int = 2,
        qqi: int = 125,
        reserved: int = 0,
    ) -> V3Query:
        """Query from times in seconds; raises ValueError above 3174.4 s / 31744 s."""
        return cls(floatcode.mrc_from_seconds(max_resp_time), address(group), s_flag, qrv,
                   floatcode.encode(qqi), sources, reserved)


@dataclass(frozen=True, slots=True)
class GroupRecord:
    """One IGMPv3 group record (RFC 3376 4.2.4).

    ``record_type`` is a :class:`RecordType` or, for types RFC 3376 does not define
    (which receivers skip, 4.2.12), the plain int. ``aux_data`` is kept raw; its
    length must be a multiple of 4 (4.2.6).
    """

    record_type: RecordType | int
    group: IPv4Address
    sources: tuple[IPv4Address, ...] = ()
    aux_data: bytes = b""

    if TYPE_CHECKING:  # constructors take addresses as text or ints too (converted in __post_init__)
        def __init__(self, record_type: RecordType | int | str, group: AddressLike,
                     sources: Iterable[AddressLike] = (), aux_data: bytes = b"") -> None: ...

    def __post_init__(self) -> None:
        if isinstance(self.record_type, str):
            object.__setattr__(self, "record_type", RecordType.parse(self.record_type))
        _check_byte("record type", int(self.record_type))
        object.__setattr__(self, "record_type", _BY_VALUE.get(int(self.record_type), int(self.record_type)))
        object.__setattr__(self, "group", address(self.group))
        sources = _addresses("sources", self.sources)
        if len(sources) > 0xFFFF:
            raise ValueError(f"{len(sources)} sources do not fit the 16-bit Number of Sources")
        object.__setattr__(self, "sources", sources)
        aux = bytes(self.aux_data)
        if len(aux) % 4 or len(aux) > 255 * 4:
            raise ValueError(f"aux data of {len(aux)} bytes is not a multiple of 4 up to 1020")
        object.__setattr__(self, "aux_data", aux)

    @property
    def type_name(self) -> str:
        """IS_IN, IS_EX, TO_IN, TO_EX, ALLOW, BLOCK or ``type-N``."""
        return record_type_name(int(self.record_type))

    @property
    def size(self) -> int:
        """Bytes on the wire: 8 + 4N + aux (RFC 3376 4.2.4)."""
        return 8 + 4 * len(self.sources) + len(self.aux_data)


@dataclass(frozen=True, slots=True)
class V3Report:
    """IGMPv3 Membership Report (RFC 3376 4.2), sent to 224.0.0.22.

    ``reserved`` is byte 1 and ``reserved2`` bytes 4-5 (RFC 9776 Flags); both 0 when sent.
    """

    records: tuple[GroupRecord, ...] = ()
    reserved: int = 0
    reserved2: int = 0

    type: ClassVar[int] = V3_REPORT
    version: ClassVar[int] = 3
    kind: ClassVar[str] = "v3-report"

    if TYPE_CHECKING:  # constructors take addresses as text or ints too (converted in __post_init__)
        def __init__(self, records: Iterable[GroupRecord] = (), reserved: int = 0,
                     reserved2: int = 0) -> None: ...

    def __post_init__(self) -> None:
        records = tuple(self.records)
        for record in records:
            if not isinstance(record, GroupRecord):
                raise TypeError(f"records must be GroupRecord values, not {type(record).__name__}")
        if len(records) > 0xFFFF:
            raise ValueError(f"{len(records)} records do not fit the 16-bit Number of Group Records")
        object.__setattr__(self, "records", records)
        _check_byte("reserved byte", self.reserved)
        _check_byte("reserved field", self.reserved2, 16)


@dataclass(frozen=True, slots=True)
class UnknownMessage:
    """Any IGMP type mdiag does not model (DVMRP, mtrace, MRD, ...), kept whole.

    ``raw`` is the complete IGMP payload, type byte and checksum included; encoding
    gives it back unchanged.
    """

    raw: bytes

    version: ClassVar[int | None] = None
    kind: ClassVar[str] = "unknown"

    def __post_init__(self) -> None:
        raw = bytes(self.raw)
        if len(raw) < 1:
            raise ValueError("an IGMP message needs at least its type byte")
        object.__setattr__(self, "raw", raw)

    @property
    def type(self) -> int:
        return self.raw[0]

    @property
    def type_name(self) -> str:
        return TYPE_NAMES.get(self.raw[0], f"type 0x{self.raw[0]:02x}")


IgmpMessage = Union[V1Query, V1Report, V2Query, V2Report, V2Leave, V3Query, V3Report, UnknownMessage]
Query = Union[V1Query, V2Query, V3Query]

#: Every message class, for isinstance checks and registries.
MESSAGE_CLASSES: tuple[type, ...] = (V1Query, V1Report, V2Query, V2Report, V2Leave, V3Query,
                                     V3Report, UnknownMessage)


def default_destination(message: IgmpMessage) -> IPv4Address:
    """Where a conforming sender addresses ``message`` (RFC 2236 9, RFC 3376 4.1.12 / 4.2.14).

    General query 224.0.0.1; group(-and-source) query G; v1/v2 report G; leave
    224.0.0.2; v3 report 224.0.0.22; MRD advertisement/termination 224.0.0.106 and
    solicitation 224.0.0.2 (RFC 4286); anything else 224.0.0.1.
    """
    if isinstance(message, (V1Report, V2Report)):
        return message.group
    if isinstance(message, V2Leave):
        return ALL_ROUTERS
    if isinstance(message, V3Report):
        return IGMPV3_ROUTERS
    if isinstance(message, (V1Query, V2Query, V3Query)):
        return ALL_SYSTEMS if int(message.group) == 0 else message.group
    if isinstance(message, UnknownMessage):
        return {0x30: ALL_SNOOPERS, 0x31: ALL_ROUTERS, 0x32: ALL_SNOOPERS}.get(message.type, ALL_SYSTEMS)
    raise TypeError(f"not an IGMP message: {type(message).__name__}")

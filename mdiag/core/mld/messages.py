"""MLD message models: frozen, validated values with no I/O (RFC 2710, RFC 3810).

MLD is IGMP for IPv6, carried in ICMPv6 (next header 58). One class per message:

======================  ====  ==============================================
class                   type  what it is
======================  ====  ==============================================
:class:`Mld1Query`       130  24 bytes, Maximum Response Delay in ms (RFC 2710 3)
:class:`Mld1Report`      131  RFC 2710 3, sent to the group
:class:`Mld1Done`        132  RFC 2710 3, sent to ff02::2
:class:`Mld2Query`       130  28 + 16N bytes (RFC 3810 5.1)
:class:`Mld2Report`      143  multicast address records (RFC 3810 5.2)
:class:`UnknownMld`     151+  Multicast Router Discovery (RFC 4286), kept raw
======================  ====  ==============================================

A query's version is told by its length alone (RFC 3810 8.1): 24 bytes is MLDv1,
28 or more MLDv2. Record types are IGMPv3's (:mod:`mdiag.core.records`), the
MLDv2 QQIC is IGMPv3's 8-bit float code and the Maximum Response Code its 16-bit
sibling (:mod:`mdiag.core.floatcode`). Reserved fields are kept so that
model -> bytes -> model is the identity even for odd input. Addresses are
:class:`ipaddress.IPv6Address`; constructors also accept text, ints and 16 bytes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from ipaddress import IPv6Address
from typing import TYPE_CHECKING, Any, ClassVar, Union

from mdiag.core.floatcode import IGMP_CODE, MLD_MRC
from mdiag.core.igmp.messages import cached_address
from mdiag.core.records import BY_VALUE, RecordType, record_type_name

UNSPECIFIED = IPv6Address(0)
#: Link-scope all-nodes, all-routers and all-MLDv2-capable-routers (RFC 4291 2.7.1, RFC 3810 11).
ALL_NODES = IPv6Address("ff02::1")
ALL_ROUTERS = IPv6Address("ff02::2")
MLDV2_ROUTERS = IPv6Address("ff02::16")
#: RFC 4286 3: all-snoopers, where Multicast Router Advertisements go.
ALL_SNOOPERS = IPv6Address("ff02::6a")

QUERY = 130
V1_REPORT = 131
V1_DONE = 132
V2_REPORT = 143
MLD_TYPES = frozenset((QUERY, V1_REPORT, V1_DONE, V2_REPORT))
#: Multicast Router Discovery (RFC 4286 2): advertisement, solicitation, termination.
MRD_TYPES = frozenset((151, 152, 153))

TYPE_NAMES: dict[int, str] = {
    130: "Multicast Listener Query",
    131: "MLDv1 Multicast Listener Report",
    132: "MLDv1 Multicast Listener Done",
    143: "MLDv2 Multicast Listener Report",
    151: "Multicast Router Advertisement",
    152: "Multicast Router Solicitation",
    153: "Multicast Router Termination",
}

#: What constructors accept for an address: an IPv6Address, text, an int or 16 bytes.
AddressLike = Union[IPv6Address, str, int, bytes]

_cache: dict[Any, IPv6Address] = {}


def address(value: AddressLike) -> IPv6Address:
    """An IPv6Address from an address, text, int or 16 bytes (cached)."""
    result: IPv6Address = cached_address(IPv6Address, _cache, value)
    return result


def _check(name: str, value: int, bits: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if not 0 <= value < (1 << bits):
        raise ValueError(f"{name} {value} does not fit in {bits} bits")


def _addresses(name: str, values: Any) -> tuple[IPv6Address, ...]:
    if isinstance(values, (str, bytes, IPv6Address)):
        raise TypeError(f"{name} must be a sequence of addresses, not a single {type(values).__name__}")
    result = tuple(address(v) for v in values)
    if len(result) > 0xFFFF:
        raise ValueError(f"{len(result)} {name} do not fit the 16-bit count")
    return result


# --------------------------------------------------------------------------- MLDv1


@dataclass(frozen=True, slots=True)
class Mld1Query:
    """MLDv1 Multicast Listener Query (RFC 2710 3): general (group ::) or address-specific.

    ``max_resp_delay`` is linear, in milliseconds (RFC 2710 3.4).
    """

    max_resp_delay: int = 10000
    group: IPv6Address = UNSPECIFIED
    reserved: int = 0
    code: int = 0

    type: ClassVar[int] = QUERY
    version: ClassVar[int] = 1
    family: ClassVar[int] = 6

    if TYPE_CHECKING:
        def __init__(self, max_resp_delay: int = 10000, group: AddressLike = UNSPECIFIED,
                     reserved: int = 0, code: int = 0) -> None: ...

    def __post_init__(self) -> None:
        _check("maximum response delay", self.max_resp_delay, 16)
        _check("reserved field", self.reserved, 16)
        _check("ICMPv6 code", self.code, 8)
        object.__setattr__(self, "group", address(self.group))

    @property
    def kind(self) -> str:
        return "mld1-query" if self.is_general else "mld1-group-query"

    @property
    def is_general(self) -> bool:
        return self.group == UNSPECIFIED

    @property
    def max_resp_time(self) -> float:
        """Seconds (RFC 2710 3.4: milliseconds on the wire)."""
        return self.max_resp_delay / 1000


@dataclass(frozen=True, slots=True)
class _Mld1Address:
    group: IPv6Address
    #: Maximum Response Delay field: zero when sent, ignored when received (RFC 2710 3.4).
    max_resp_delay: int = 0
    reserved: int = 0
    code: int = 0

    if TYPE_CHECKING:
        def __init__(self, group: AddressLike, max_resp_delay: int = 0, reserved: int = 0,
                     code: int = 0) -> None: ...

    def __post_init__(self) -> None:
        object.__setattr__(self, "group", address(self.group))
        _check("maximum response delay", self.max_resp_delay, 16)
        _check("reserved field", self.reserved, 16)
        _check("ICMPv6 code", self.code, 8)


@dataclass(frozen=True, slots=True)
class Mld1Report(_Mld1Address):
    """MLDv1 Multicast Listener Report for ``group`` (RFC 2710 3), sent to the group."""

    type: ClassVar[int] = V1_REPORT
    version: ClassVar[int] = 1
    family: ClassVar[int] = 6
    kind: ClassVar[str] = "mld1-report"

    if TYPE_CHECKING:
        def __init__(self, group: AddressLike, max_resp_delay: int = 0, reserved: int = 0,
                     code: int = 0) -> None: ...


@dataclass(frozen=True, slots=True)
class Mld1Done(_Mld1Address):
    """MLDv1 Multicast Listener Done for ``group`` (RFC 2710 3, sent to ff02::2)."""

    type: ClassVar[int] = V1_DONE
    version: ClassVar[int] = 1
    family: ClassVar[int] = 6
    kind: ClassVar[str] = "mld1-done"

    if TYPE_CHECKING:
        def __init__(self, group: AddressLike, max_resp_delay: int = 0, reserved: int = 0,
                     code: int = 0) -> None: ...


# --------------------------------------------------------------------------- MLDv2


@dataclass(frozen=True, slots=True)
class Mld2Query:
    """MLDv2 Multicast Listener Query (RFC 3810 5.1).

    General (group ::, no sources), multicast-address-specific, or
    multicast-address-and-source-specific. ``max_resp_code`` is the 16-bit float code
    in milliseconds (5.1.3), ``qqic`` the 8-bit code in seconds (5.1.9);
    ``reserved`` is the 16-bit field after it and ``flags`` the top nibble of byte 24
    (RFC 9777 Flags, "Resv" in RFC 3810).
    """

    max_resp_code: int = 10000
    group: IPv6Address = UNSPECIFIED
    s_flag: bool = False
    qrv: int = 2
    qqic: int = 125
    sources: tuple[IPv6Address, ...] = ()
    reserved: int = 0
    flags: int = 0
    code: int = 0

    type: ClassVar[int] = QUERY
    version: ClassVar[int] = 2
    family: ClassVar[int] = 6

    if TYPE_CHECKING:
        def __init__(self, max_resp_code: int = 10000, group: AddressLike = UNSPECIFIED,
                     s_flag: bool = False, qrv: int = 2, qqic: int = 125,
                     sources: Iterable[AddressLike] = (), reserved: int = 0, flags: int = 0,
                     code: int = 0) -> None: ...

    def __post_init__(self) -> None:
        _check("maximum response code", self.max_resp_code, 16)
        _check("QQIC", self.qqic, 8)
        _check("QRV", self.qrv, 3)
        _check("reserved field", self.reserved, 16)
        _check("flag bits", self.flags, 4)
        _check("ICMPv6 code", self.code, 8)
        object.__setattr__(self, "s_flag", bool(self.s_flag))
        object.__setattr__(self, "group", address(self.group))
        object.__setattr__(self, "sources", _addresses("sources", self.sources))

    @property
    def kind(self) -> str:
        if self.sources:
            return "mld2-group-source-query"
        return "mld2-query" if self.group == UNSPECIFIED else "mld2-group-query"

    @property
    def is_general(self) -> bool:
        return self.group == UNSPECIFIED and not self.sources

    @property
    def max_resp_delay(self) -> int:
        """Maximum Response Delay in milliseconds (RFC 3810 5.1.3)."""
        return MLD_MRC.decode(self.max_resp_code)

    @property
    def max_resp_time(self) -> float:
        """Seconds."""
        return MLD_MRC.decode(self.max_resp_code) / 1000

    @property
    def qqi(self) -> int:
        """Querier's Query Interval in seconds (RFC 3810 5.1.9; 0 means unspecified)."""
        return IGMP_CODE.decode(self.qqic)

    @classmethod
    def build(cls, *, group: AddressLike = UNSPECIFIED, sources: Iterable[AddressLike] = (),
              max_resp_ms: int = 10000, s_flag: bool = False, qrv: int = 2, qqi: int = 125,
              reserved: int = 0, flags: int = 0) -> Mld2Query:
        """Query from a delay in ms and a QQI in s, rounded down as Linux does;
        ValueError above 8387584 ms / 31744 s."""
        return cls(MLD_MRC.encode(max_resp_ms), address(group), s_flag, qrv, IGMP_CODE.encode(qqi),
                   tuple(sources), reserved, flags)


@dataclass(frozen=True, slots=True)
class MldRecord:
    """One MLDv2 Multicast Address Record (RFC 3810 5.2.4).

    ``record_type`` is a :class:`~mdiag.core.records.RecordType` or, for types RFC 3810
    does not define (which receivers skip, 5.2.12), the plain int.
    """

    record_type: RecordType | int
    group: IPv6Address
    sources: tuple[IPv6Address, ...] = ()
    aux_data: bytes = b""

    if TYPE_CHECKING:
        def __init__(self, record_type: RecordType | int | str, group: AddressLike,
                     sources: Iterable[AddressLike] = (), aux_data: bytes = b"") -> None: ...

    def __post_init__(self) -> None:
        if isinstance(self.record_type, str):
            object.__setattr__(self, "record_type", RecordType.parse(self.record_type))
        _check("record type", int(self.record_type), 8)
        object.__setattr__(self, "record_type", BY_VALUE.get(int(self.record_type), int(self.record_type)))
        object.__setattr__(self, "group", address(self.group))
        object.__setattr__(self, "sources", _addresses("sources", self.sources))
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
        """Bytes on the wire: 20 + 16N + aux (RFC 3810 5.2.4)."""
        return 20 + 16 * len(self.sources) + len(self.aux_data)


@dataclass(frozen=True, slots=True)
class Mld2Report:
    """MLDv2 Multicast Listener Report (RFC 3810 5.2), sent to ff02::16.

    ``reserved`` is byte 1 (the ICMPv6 code) and ``reserved2`` bytes 4-5
    (RFC 9777 Flags); both 0 when sent.
    """

    records: tuple[MldRecord, ...] = ()
    reserved: int = 0
    reserved2: int = 0

    type: ClassVar[int] = V2_REPORT
    version: ClassVar[int] = 2
    family: ClassVar[int] = 6
    kind: ClassVar[str] = "mld2-report"

    if TYPE_CHECKING:
        def __init__(self, records: Iterable[MldRecord] = (), reserved: int = 0,
                     reserved2: int = 0) -> None: ...

    def __post_init__(self) -> None:
        records = tuple(self.records)
        for record in records:
            if not isinstance(record, MldRecord):
                raise TypeError(f"records must be MldRecord values, not {type(record).__name__}")
        if len(records) > 0xFFFF:
            raise ValueError(f"{len(records)} records do not fit the 16-bit Number of Records")
        object.__setattr__(self, "records", records)
        _check("reserved byte", self.reserved, 8)
        _check("reserved field", self.reserved2, 16)


@dataclass(frozen=True, slots=True)
class UnknownMld:
    """A multicast ICMPv6 message mdiag does not model (RFC 4286 MRD), kept whole.

    ``raw`` is the complete ICMPv6 message, type and checksum included.
    """

    raw: bytes

    version: ClassVar[int | None] = None
    family: ClassVar[int] = 6
    kind: ClassVar[str] = "mld-unknown"

    def __post_init__(self) -> None:
        raw = bytes(self.raw)
        if len(raw) < 4:
            raise ValueError("an ICMPv6 message needs at least its 4-byte header")
        object.__setattr__(self, "raw", raw)

    @property
    def type(self) -> int:
        return self.raw[0]

    @property
    def type_name(self) -> str:
        return TYPE_NAMES.get(self.raw[0], f"ICMPv6 type {self.raw[0]}")


MldMessage = Union[Mld1Query, Mld1Report, Mld1Done, Mld2Query, Mld2Report, UnknownMld]
MldQuery = Union[Mld1Query, Mld2Query]

MESSAGE_CLASSES: tuple[type, ...] = (Mld1Query, Mld1Report, Mld1Done, Mld2Query, Mld2Report, UnknownMld)


def default_destination(message: MldMessage) -> IPv6Address:
    """Where a conforming sender addresses ``message`` (RFC 2710 5, RFC 3810 5.1.15 / 5.2.14).

    General query ff02::1; address-specific query the address; v1 report the
    address; done ff02::2; v2 report ff02::16; MRD advertisement/termination
    ff02::6a, solicitation ff02::2 (RFC 4286).
    """
    cls = type(message)
    if cls is Mld1Report:
        return message.group  # type: ignore[union-attr]
    if cls is Mld1Done:
        return ALL_ROUTERS
    if cls is Mld2Report:
        return MLDV2_ROUTERS
    if cls is Mld1Query or cls is Mld2Query:
        group: IPv6Address = message.group  # type: ignore[union-attr]
        return ALL_NODES if group == UNSPECIFIED else group
    if cls is UnknownMld:
        return {151: ALL_SNOOPERS, 152: ALL_ROUTERS, 153: ALL_SNOOPERS}.get(message.type, ALL_NODES)
    raise TypeError(f"not an MLD message: {type(message).__name__}")

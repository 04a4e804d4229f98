"""A multicast lab made of Linux network namespaces: hosts joined by veth pairs to a snooping bridge.

Layout for prefix ``P`` and ``N`` hosts (nothing is created in the root namespace)::

    namespace P-br:  bridge br0 (198.18.0.1/24, IGMP snooping, optional querier)
                     ports p1..pN  <-- veth -->  namespace P-h1 .. P-hN: interface lab0
                                                 198.18.0.11 .. 198.18.0.(10+N)/24,
                                                 route 224.0.0.0/4 dev lab0

A dual-stack lab (``Lab(ipv6=True)``, the default of ``mdiag lab up``) adds IPv6: the bridge
does MLD snooping and, with its querier on, queries MLDv1 or MLDv2 (``BridgeConfig.mld_version``)
from its link-local address; the bridge has fd00:c612::1/64 and host ``hI`` fd00:c612::(10+I)/64
(ULA, RFC 4193) and its EUI-64 link-local address. Duplicate address detection is off
(``accept_dad`` 0, addresses ``nodad``), so no address is ever tentative and tests never wait
for it; router solicitations are off so captures hold only what a test did. An IPv4-only lab
(the default of :class:`Lab`) disables IPv6 in every namespace.

The bridge lives in a namespace of its own, so the machine's real interfaces are never
touched, and deleting the lab's namespaces removes every link, address and route it made.
Addresses come from 198.18.0.0/15 (RFC 2544 benchmarking space); two labs with different
prefixes never share a namespace, so they may use the same addresses.

Typical use (as root)::

    from mdiag.adapters.lab import Lab, BridgeConfig
    lab = Lab(prefix="md1234x", hosts=3, bridge=BridgeConfig.fast())
    lab.up()                                  # idempotent; cleans up if it fails or on Ctrl-C
    try:
        h1, h2 = lab.host("h1"), lab.host("h2")
        lab.run("h2", ["ip", "-br", "addr"])     # a command inside a host namespace
        proc = lab.popen("h2", lab.mdiag_argv("listen", "239.1.2.3", "--iface", h2.iface))
        with lab.inside("h1"):                   # this thread now lives in h1's namespace
            sock = socket.socket(...)            # sockets keep the namespace they were made in
        lab.call("h1", some_function, arg)       # a forked child runs it inside h1, result returned
        lab.mdb()                                # `bridge -j -d -s mdb show` of the bridge, parsed
        lab.bridge_settings()                    # multicast settings of br0 (timers in seconds)
    finally:
        lab.down()

Bridge timers (:class:`BridgeConfig`) are in seconds here and centiseconds in the kernel;
tests shorten the query and last-member intervals so leaves settle in well under a second.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from mdiag.adapters.netns import enter_for_good, entered, list_names
from mdiag.core import names
from mdiag.errors import InputError, MdiagError, MissingSystemPiece, PermissionProblem

#: Name prefix of ``mdiag lab up`` (tests use ``md<pid>...`` prefixes instead).
DEFAULT_PREFIX = "mdlab"
#: Interface name inside every host namespace.
HOST_IFACE = "lab0"
#: Bridge device name inside the bridge namespace.
BRIDGE = "br0"
#: The lab subnet (inside 198.18.0.0/15) and the bridge's own address (the querier's source).
SUBNET = "198.18.0.0/24"
PREFIXLEN = 24
BRIDGE_ADDRESS = "198.18.0.1"
#: The dual-stack lab's IPv6 subnet (ULA, RFC 4193) and the bridge's address in it.
SUBNET6 = "fd00:c612::/64"
PREFIXLEN6 = 64
BRIDGE_ADDRESS6 = "fd00:c612::1"
MAX_HOSTS = 200
#: A command run inside the lab never runs longer than this unless told otherwise.
DEFAULT_TIMEOUT = 30.0



class LabError(MdiagError):
    """The lab could not be built or used."""


def host_address(index: int) -> str:
    """Address of host ``h<index>`` (1-based): 198.18.0.(10+index)."""
    if not 1 <= index <= MAX_HOSTS:
        raise InputError(f"host index {index} is out of range 1..{MAX_HOSTS}")
    return f"198.18.0.{10 + index}"


def host_address6(index: int) -> str:
    """IPv6 address of host ``h<index>`` in a dual-stack lab: fd00:c612::(10+index)."""
    host_address(index)  # range check
    return f"fd00:c612::{10 + index}"


def link_local(mac: str) -> str:
    """The EUI-64 link-local address the kernel derives from ``mac`` (RFC 4291 appendix A)."""
    octets = [int(part, 16) for part in mac.split(":")]
    eui = [octets[0] ^ 0x02, *octets[1:3], 0xFF, 0xFE, *octets[3:]]
    import ipaddress

    return str(ipaddress.IPv6Address(bytes([0xFE, 0x80] + [0] * 6 + eui)))


#: The bridge's MAC (and so its EUI-64 link-local address: the MLD querier's source).
BRIDGE_MAC = "02:00:c6:12:00:01"


def host_mac(index: int) -> str:
    """Locally administered MAC of host ``h<index>``, readable in captures: 02:00:c6:12:00:<10+i>."""
    return f"02:00:c6:12:00:{10 + index:02x}"


@dataclass(frozen=True, slots=True)
class BridgeConfig:
    """IGMP snooping and querier settings of the lab bridge (RFC 4541; timers in seconds).

    ``querier`` is ``"off"``, ``"v2"`` or ``"v3"`` (the bridge's own querier and the IGMP
    version it queries with); in a dual-stack lab the same querier also sends MLD queries of
    ``mld_version`` (1 or 2). ``flood_unregistered`` is the ports' ``mcast_flood`` flag. It
    matters only while the bridge knows no querier (``querier="off"`` and none heard, or snooping
    off): then every group goes to every port with the flag (the Linux default) and to none
    without it. With a querier the bridge forwards by its table, and a group with no member
    goes to router ports only (RFC 4541 2.1.2), whatever the flag says.
    ``None`` for a timer keeps the kernel default
    (query 125 s, response 10 s, last member 1 s x 2, membership 260 s, querier 255 s).
    """

    snooping: bool = True
    querier: str = "v3"
    flood_unregistered: bool = True
    #: MLD version of the bridge's querier (RFC 2710 v1, RFC 3810 v2); only in a dual-stack lab
    mld_version: int = 2
    query_interval: float | None = None
    query_response_interval: float | None = None
    last_member_interval: float | None = None
    last_member_count: int | None = None
    startup_query_interval: float | None = None
    startup_query_count: int | None = None
    membership_interval: float | None = None
    querier_interval: float | None = None

    def __post_init__(self) -> None:
        if self.querier not in ("off", "v2", "v3"):
            raise InputError(f"querier must be off, v2 or v3, not {self.querier!r}")
        if self.mld_version not in (1, 2):
            raise InputError(f"MLD version must be 1 or 2, not {self.mld_version!r}")
        for name in ("query_interval", "query_response_interval", "last_member_interval",
                     "startup_query_interval", "membership_interval", "querier_interval"):
            value = getattr(self, name)
            if value is not None and not 0.01 <= value <= 3600:
                raise InputError(f"bridge {name.replace('_', ' ')} must be 0.01..3600 s, not {value}")
        for name in ("last_member_count", "startup_query_count"):
            value = getattr(self, name)
            if value is not None and not 1 <= value <= 100:
                raise InputError(f"bridge {name.replace('_', ' ')} must be 1..100, not {value}")
        if (self.query_interval is not None and self.query_response_interval is not None
                and self.query_response_interval >= self.query_interval):
            raise InputError("the query response interval must be shorter than the query interval "
                             "(RFC 3376 8.3)")

    @classmethod
    def fast(cls, **overrides: Any) -> BridgeConfig:
        """Short timers for tests: queries every 2 s (the kernel minimum for startup is 1 s),
        leaves settle in about 0.3 s."""
        base: dict[str, Any] = dict(query_interval=2.0, query_response_interval=1.0, last_member_interval=0.1,
                    last_member_count=2, startup_query_interval=1.0, startup_query_count=2,
                    membership_interval=5.0, querier_interval=4.5)
        base.update(overrides)
        return cls(**base)

    def ip_link_options(self) -> list[str]:
        """``ip link ... type bridge`` options for this configuration (centiseconds).

        The querier switch itself is not among them: see :meth:`Lab._set_querier`.
        """
        opts = ["mcast_snooping", "1" if self.snooping else "0",
                "mcast_igmp_version", "2" if self.querier == "v2" else "3",
                "mcast_mld_version", str(self.mld_version),
                "mcast_query_use_ifaddr", "1", "mcast_stats_enabled", "1"]
        # Order matters to the kernel only for validation we already did; response before query
        # could be rejected when shrinking, so set the query interval first.
        for name, key in (("query_interval", "mcast_query_interval"),
                          ("query_response_interval", "mcast_query_response_interval"),
                          ("last_member_interval", "mcast_last_member_interval"),
                          ("startup_query_interval", "mcast_startup_query_interval"),
                          ("membership_interval", "mcast_membership_interval"),
                          ("querier_interval", "mcast_querier_interval")):
            value = getattr(self, name)
            if value is not None:
                opts += [key, str(max(1, round(value * 100)))]
        for name, key in (("last_member_count", "mcast_last_member_count"),
                          ("startup_query_count", "mcast_startup_query_count")):
            value = getattr(self, name)
            if value is not None:
                opts += [key, str(value)]
        return opts


@dataclass(frozen=True, slots=True)
class LabHost:
    """One host of the lab: its name (``h1``), namespace, interface, address and bridge port."""

    name: str
    index: int
    netns: str
    iface: str
    address: str
    prefixlen: int
    mac: str
    bridge_port: str
    #: ULA address (prefix length 64) and link-local address in a dual-stack lab, else None
    address6: str | None = None
    link_local: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "netns": self.netns, "iface": self.iface,
                "address": self.address, "prefixlen": self.prefixlen, "mac": self.mac,
                "bridge_port": self.bridge_port, "address6": self.address6,
                "link_local": self.link_local}


def _need_tools() -> None:
    for tool in ("ip", "bridge"):
        if shutil.which(tool) is None:
            raise MissingSystemPiece(f"'{tool}' is missing: install iproute2 (apt-get install iproute2)")


def require_root() -> None:
    """:class:`PermissionProblem` (exit 4, one line) unless running as root."""
    if os.geteuid() != 0:
        raise PermissionProblem("the lab needs root (network namespaces): run it with sudo")


_need_root = require_root


def _ip(args: Sequence[str], *, stdin: str | None = None, timeout: float = DEFAULT_TIMEOUT,
        check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(["ip", *args], input=stdin, capture_output=True, text=True,
                          timeout=timeout)
    _checkpoint()  # a Ctrl-C / SIGTERM noted while building stops the build here, between steps
    if check and proc.returncode != 0:
        raise LabError(f"'ip {_summary(args, stdin)}' failed: {_first_lines(proc.stderr or proc.stdout)}")
    return proc


def _summary(args: Sequence[str], stdin: str | None) -> str:
    """The command in a few words: a batch of 600 lines is named by its first one."""
    what = " ".join(args)
    if stdin is not None:
        lines = stdin.strip().splitlines()
        what += f" <<< {lines[0]!r}" if lines else ""
        what += f" (+{len(lines) - 1} more lines)" if len(lines) > 1 else ""
    return what


def _first_lines(text: str, limit: int = 2) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    shown = "; ".join(line[:200] for line in lines[:limit])
    return shown + (f" (+{len(lines) - limit} more lines)" if len(lines) > limit else "") if lines else "no message"


def _write_sysctl(path: str, value: str) -> None:
    with open(path, "w") as handle:
        handle.write(value)


def _child_main(netns_name: str, fn: Callable[..., Any], args: tuple[Any, ...],
                kwargs: dict[str, Any], conn: Any) -> None:
    try:
        enter_for_good(netns_name)
        result = fn(*args, **kwargs)
        conn.send((True, result))
    except BaseException as exc:  # report everything to the parent
        try:
            conn.send((False, (exc, traceback.format_exc())))
        except Exception:
            conn.send((False, (RuntimeError(repr(exc)), traceback.format_exc())))
    finally:
        conn.close()


# --------------------------------------------------------------------------- the lab


@dataclass
class Lab:
    """A lab of ``hosts`` namespaces around one bridge; see the module docstring."""

    prefix: str = DEFAULT_PREFIX
    hosts: int = 2
    bridge: BridgeConfig = field(default_factory=BridgeConfig)
    #: dual-stack (IPv6 and MLD as well as IPv4 and IGMP); False disables IPv6 everywhere
    ipv6: bool = False

    def __post_init__(self) -> None:
        names.lab_prefix(self.prefix)
        if not 1 <= self.hosts <= MAX_HOSTS:
            raise InputError(f"a lab has 1..{MAX_HOSTS} hosts, not {self.hosts}")

    # ---- names
    @property
    def bridge_netns(self) -> str:
        return f"{self.prefix}-br"

    def host(self, name: str | int) -> LabHost:
        """The host ``h<i>`` (by name ``"h2"``, index ``2`` or namespace name)."""
        if isinstance(name, int):
            index = name
        else:
            text = name[len(self.prefix) + 1:] if name.startswith(self.prefix + "-") else name
            match = re.fullmatch(r"h(\d+)", text)
            if not match:
                raise InputError(f"unknown lab host {name!r}: hosts are h1..h{self.hosts}")
            index = int(match.group(1))
        if not 1 <= index <= self.hosts:
            raise InputError(f"unknown lab host {name!r}: hosts are h1..h{self.hosts}")
        return LabHost(name=f"h{index}", index=index, netns=f"{self.prefix}-h{index}",
                       iface=HOST_IFACE, address=host_address(index), prefixlen=PREFIXLEN,
                       mac=host_mac(index), bridge_port=f"p{index}",
                       address6=host_address6(index) if self.ipv6 else None,
                       link_local=link_local(host_mac(index)) if self.ipv6 else None)

    @property
    def all_hosts(self) -> list[LabHost]:
        return [self.host(i) for i in range(1, self.hosts + 1)]

    def namespaces(self) -> list[str]:
        return [self.bridge_netns] + [h.netns for h in self.all_hosts]

    # ---- discovery
    @classmethod
    def existing(cls, prefix: str = DEFAULT_PREFIX) -> Lab | None:
        """The lab with ``prefix`` that is up now (host count from its namespaces), or None."""
        present = set(list_names())
        if f"{prefix}-br" not in present:
            return None
        indices = sorted(int(m.group(1)) for n in present
                         if (m := re.fullmatch(re.escape(prefix) + r"-h(\d+)", n)))
        lab = cls(prefix=prefix, hosts=max(1, len(indices)))
        try:
            lab.bridge = lab._read_config()
            with entered(lab.bridge_netns), open("/proc/sys/net/ipv6/conf/all/disable_ipv6") as handle:
                lab.ipv6 = handle.read().strip() == "0"
        except (MdiagError, OSError):
            pass
        return lab

    def is_up(self) -> bool:
        """True when every namespace of this lab exists and its bridge carries the mark a
        finished build leaves (a lab whose build was killed halfway is not up: it is partial)."""
        return self.state() == "up"

    def state(self) -> str:
        """``up`` (complete), ``partial`` (some namespaces, no finished build) or ``absent``."""
        present = set(list_names())
        pattern = re.compile(re.escape(self.prefix) + r"-(br|h\d+)")
        if not any(pattern.fullmatch(ns) for ns in present):
            return "absent"
        if not all(ns in present for ns in self.namespaces()):
            return "partial"
        out = _ip(["-n", self.bridge_netns, "-j", "link", "show", BRIDGE], check=False)
        if out.returncode != 0:
            return "partial"
        try:
            alias = (json.loads(out.stdout or "[]") or [{}])[0].get("ifalias", "")
        except json.JSONDecodeError:
            return "partial"
        return "up" if alias == self._complete_mark() else "partial"

    def stray_hosts(self) -> list[str]:
        """Host namespaces with this prefix beyond ``hosts`` (left from a bigger lab)."""
        pattern = re.compile(re.escape(self.prefix) + r"-h(\d+)")
        return [n for n in list_names() if (m := pattern.fullmatch(n)) and int(m.group(1)) > self.hosts]

    # ---- build and tear down
    def up(self) -> bool:
        """Build the lab (root). Returns False when it was already up (settings re-applied).

        Idempotent: a complete lab with this prefix is kept and its bridge settings are
        updated; a partial one (an earlier run died) is removed and rebuilt. On any failure,
        Ctrl-C or SIGTERM everything made so far is removed before the error propagates, and
        only one ``up``/``down`` of a prefix runs at a time (:func:`_lock`).
        """
        _need_root()
        _need_tools()
        with _lock(self.prefix):
            if self.is_up() and not self.stray_hosts():
                self.configure_bridge(self.bridge)
                return False
            with _deferred_signals() as deferral:
                try:
                    self._remove()
                    self._build()
                except BaseException:
                    deferral.holding = True
                    self._remove()
                    raise
        return True

    def _build(self) -> None:
        # Set before any link exists, so every interface made later inherits it ("default").
        # IPv4-only: no IPv6 at all, which keeps MLD and router solicitations out of captures and
        # out of the bridge's table. Dual-stack: no DAD (addresses never tentative), no router
        # solicitations or advertisements (captures hold only what a test did).
        sysctls = ({"disable_ipv6": "0", "accept_dad": "0", "dad_transmits": "0", "accept_ra": "0",
                    "router_solicitations": "0"} if self.ipv6 else {"disable_ipv6": "1"})
        for ns in self.namespaces():
            _ip(["netns", "add", ns])
            with entered(ns):
                for key in ("all", "default", "lo"):
                    for name, value in sysctls.items():
                        with contextlib.suppress(OSError):
                            _write_sysctl(f"/proc/sys/net/ipv6/conf/{key}/{name}", value)
                if self.ipv6 and ns == self.bridge_netns:
                    # bridge ports are layer 2 only: without IPv6 they send no MLD of their own
                    _write_sysctl("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1")
        br = self.bridge_netns
        lines = [f"link add {BRIDGE} type bridge " + " ".join(self.bridge.ip_link_options()),
                 f"link set {BRIDGE} address {BRIDGE_MAC}",
                 f"addr add {BRIDGE_ADDRESS}/{PREFIXLEN} dev {BRIDGE}",
                 "link set lo up"]
        for h in self.all_hosts:
            lines += [f"link add {h.bridge_port} type veth peer name {h.iface} netns {h.netns} "
                      f"address {h.mac}",
                      f"link set {h.bridge_port} master {BRIDGE}",
                      f"link set {h.bridge_port} up"]
        lines += self._port_lines(self.bridge)
        _ip(["-n", br, "-batch", "-"], stdin="\n".join(lines) + "\n")
        up = [f"link set {BRIDGE} up"]
        if self.ipv6:
            with entered(br):  # the bridge itself is an IPv6 host: the MLD querier's link-local source
                _write_sysctl(f"/proc/sys/net/ipv6/conf/{BRIDGE}/disable_ipv6", "0")
            up.insert(0, f"addr add {BRIDGE_ADDRESS6}/{PREFIXLEN6} dev {BRIDGE} nodad")
        _ip(["-n", br, "-batch", "-"], stdin="\n".join(up) + "\n")
        for h in self.all_hosts:
            host_lines = ["link set lo up",
                          f"addr add {h.address}/{h.prefixlen} dev {h.iface}",
                          f"link set {h.iface} up",
                          f"route add 224.0.0.0/4 dev {h.iface}"]
            if h.address6:
                host_lines.insert(2, f"addr add {h.address6}/{PREFIXLEN6} dev {h.iface} nodad")
            _ip(["-n", h.netns, "-batch", "-"], stdin="\n".join(host_lines) + "\n")
        self._set_querier(self.bridge, was_on=False)
        self.wait_ready()
        # Last step: the mark that this lab is whole. It lives on the bridge, so it goes with
        # the namespaces; a build stopped before this line (kill -9) leaves a lab without it,
        # which status calls partial and the next 'up' rebuilds.
        _ip(["-n", br, "link", "set", BRIDGE, "alias", self._complete_mark()])

    def _complete_mark(self) -> str:
        return f"mdiag lab complete: {self.hosts} hosts, {'dual-stack' if self.ipv6 else 'ipv4'}"

    #: The bridge's own querier counts as present only after a delay of one query response
    #: interval from the moment it is switched on (kernel br_multicast_set_querier: it listens
    #: for other queriers first); until then snooping forwards nothing by its table and
    #: floods. Switching it on while the response interval is this short keeps that delay short;
    #: the configured interval is put back right after.
    QUERIER_DELAY = 0.1

    def _set_querier(self, config: BridgeConfig, *, was_on: bool) -> None:
        import time

        if config.querier == "off":
            _ip(["-n", self.bridge_netns, "link", "set", BRIDGE, "type", "bridge", "mcast_querier", "0"])
            return
        if was_on:
            return
        response = config.query_response_interval or 10.0
        lines = [f"link set {BRIDGE} type bridge mcast_query_response_interval "
                 f"{round(self.QUERIER_DELAY * 100)}",
                 f"link set {BRIDGE} type bridge mcast_querier 1",
                 f"link set {BRIDGE} type bridge mcast_query_response_interval {round(response * 100)}"]
        _ip(["-n", self.bridge_netns, "-batch", "-"], stdin="\n".join(lines) + "\n")
        time.sleep(self.QUERIER_DELAY + 0.05)

    def wait_ready(self, timeout: float = 5.0) -> None:
        """Wait (bounded) until every host interface is up and, in a dual-stack lab, every host
        and the bridge have a usable (non-tentative) link-local address: MLD reports and the
        bridge's MLD queries are sent from it (RFC 3810 5.1.14, 5.2.13)."""
        import time

        deadline = time.monotonic() + timeout
        for h in self.all_hosts:
            while True:
                out = _ip(["-n", h.netns, "-j", "link", "show", h.iface]).stdout
                state = (json.loads(out) or [{}])[0].get("operstate")
                if state in ("UP", "UNKNOWN"):
                    break
                if time.monotonic() > deadline:
                    raise LabError(f"interface {h.iface} in {h.netns} did not come up (state {state})")
                time.sleep(0.02)
        if not self.ipv6:
            return
        for ns, dev in [(self.bridge_netns, BRIDGE)] + [(h.netns, h.iface) for h in self.all_hosts]:
            while True:
                out = _ip(["-n", ns, "-6", "-j", "addr", "show", "dev", dev, "scope", "link"]).stdout
                infos = [a for item in json.loads(out or "[]") for a in item.get("addr_info", [])]
                if any(not a.get("tentative") for a in infos):
                    break
                if time.monotonic() > deadline:
                    raise LabError(f"{dev} in {ns} has no usable IPv6 link-local address after {timeout:g} s")
                time.sleep(0.02)

    def down(self) -> list[str]:
        """Delete every namespace of this lab (and strays of its prefix). Returns what was removed.
        Runs to its end even through Ctrl-C or SIGTERM (delivered afterwards)."""
        with _lock(self.prefix), _deferred_signals(hold=True):
            return self._remove()

    def _remove(self) -> list[str]:
        removed = []
        pattern = re.compile(re.escape(self.prefix) + r"-(br|h\d+)")
        for ns in list_names():
            if pattern.fullmatch(ns):
                if _ip(["netns", "del", ns], check=False).returncode == 0:
                    removed.append(ns)
        return removed

    # ---- bridge
    def _port_lines(self, config: BridgeConfig) -> list[str]:
        flood = "on" if config.flood_unregistered else "off"
        return [f"link set dev {h.bridge_port} type bridge_slave mcast_flood {flood}"
                for h in self.all_hosts]

    def configure_bridge(self, config: BridgeConfig) -> None:
        """Apply snooping/querier/timer/flooding settings to the running bridge."""
        was_on = bool(self.bridge_settings().get("mcast_querier"))
        lines = ["link set " + BRIDGE + " type bridge " + " ".join(config.ip_link_options()),
                 *self._port_lines(config)]
        _ip(["-n", self.bridge_netns, "-batch", "-"], stdin="\n".join(lines) + "\n")
        self._set_querier(config, was_on=was_on)
        self.bridge = config

    def bridge_settings(self) -> dict[str, Any]:
        """The bridge's multicast settings from ``ip -d -j link show br0`` (intervals in seconds),
        plus ``port_mcast_flood``: the host ports' unregistered-flooding flag (read from p1)."""
        out = _ip(["-n", self.bridge_netns, "-d", "-j", "link", "show", BRIDGE]).stdout
        data = json.loads(out)[0]["linkinfo"]["info_data"]
        settings: dict[str, Any] = {}
        for key, value in data.items():
            if not key.startswith("mcast_"):
                continue
            if key.endswith("_intvl"):
                settings[key] = value / 100.0
            else:
                settings[key] = value
        port = _ip(["-n", self.bridge_netns, "-d", "-j", "link", "show", "p1"], check=False)
        if port.returncode == 0:
            slave = json.loads(port.stdout)[0].get("linkinfo", {}).get("info_slave_data", {})
            if "mcast_flood" in slave:
                settings["port_mcast_flood"] = bool(slave["mcast_flood"])
        return settings

    def _read_config(self) -> BridgeConfig:
        s = self.bridge_settings()
        querier = "off" if not s.get("mcast_querier") else f"v{s.get('mcast_igmp_version', 2)}"
        return BridgeConfig(snooping=bool(s.get("mcast_snooping")), querier=querier,
                            mld_version=2 if s.get("mcast_mld_version", 2) != 1 else 1,
                            flood_unregistered=bool(s.get("port_mcast_flood", True)),
                            query_interval=s.get("mcast_query_intvl"),
                            query_response_interval=s.get("mcast_query_response_intvl"),
                            last_member_interval=s.get("mcast_last_member_intvl"),
                            last_member_count=s.get("mcast_last_member_cnt"),
                            startup_query_interval=s.get("mcast_startup_query_intvl"),
                            startup_query_count=s.get("mcast_startup_query_cnt"),
                            membership_interval=s.get("mcast_membership_intvl"),
                            querier_interval=s.get("mcast_querier_intvl"))

    def mdb(self) -> list[dict[str, Any]]:
        """The bridge's multicast database: ``bridge -j -d -s mdb show``, flattened.

        One dict per entry with at least ``port`` (``p1``...), ``grp``, ``state`` and,
        when present, ``src``, ``filter_mode``, ``source_list``, ``timer``. Router ports are
        not entries; see :meth:`router_ports`.
        """
        proc = self.run_bridge(["bridge", "-j", "-d", "-s", "mdb", "show", "dev", BRIDGE])
        return flatten_mdb(json.loads(proc.stdout or "[]"))

    def members(self, group: str) -> set[str]:
        """Host names (``h1``...) the bridge has as members of ``group`` right now."""
        by_port = {h.bridge_port: h.name for h in self.all_hosts}
        return {by_port.get(e["port"], e["port"]) for e in self.mdb() if e.get("grp") == group}

    def wait_member(self, group: str, host: str, timeout: float = 5.0) -> float:
        """Wait (bounded) until the bridge has ``host`` as a member of ``group``; returns the
        seconds it took. Raises :class:`LabError` on timeout. Tests and scripts wait on this
        condition instead of sleeping for a guessed report delay."""
        started = time.monotonic()
        while True:
            if host in self.members(group):
                return time.monotonic() - started
            if time.monotonic() - started > timeout:
                raise LabError(f"the bridge never registered {host} for {group} within {timeout:g} s")
            time.sleep(0.02)

    def router_ports(self) -> list[dict[str, Any]]:
        proc = self.run_bridge(["bridge", "-j", "-d", "-s", "mdb", "show", "dev", BRIDGE])
        routers: list[dict[str, Any]] = []
        for item in json.loads(proc.stdout or "[]"):
            for r in item.get("router", []) or []:
                routers.append(r)
        return routers

    # ---- running things inside
    def run(self, host: str | int, argv: Sequence[str], *, timeout: float = DEFAULT_TIMEOUT,
            check: bool = False, input: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` inside the host's namespace (``ip netns exec``), output captured as text."""
        h = self.host(host)
        return self._exec(h.netns, argv, timeout=timeout, check=check, input=input)

    def run_bridge(self, argv: Sequence[str], *, timeout: float = DEFAULT_TIMEOUT,
                   check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` inside the bridge's namespace."""
        return self._exec(self.bridge_netns, argv, timeout=timeout, check=check)

    def _exec(self, ns: str, argv: Sequence[str], *, timeout: float, check: bool,
              input: str | None = None) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(["ip", "netns", "exec", ns, *argv], capture_output=True, text=True,
                              timeout=timeout, input=input)
        if check and proc.returncode != 0:
            raise LabError(f"{' '.join(argv)} in {ns} failed ({proc.returncode}): "
                           f"{proc.stderr.strip()}")
        return proc

    def popen(self, host: str | int, argv: Sequence[str], **kwargs: Any) -> subprocess.Popen[Any]:
        """Start ``argv`` inside the host's namespace; the caller waits for or kills it."""
        h = self.host(host)
        return subprocess.Popen(["ip", "netns", "exec", h.netns, *argv], **kwargs)

    @staticmethod
    def mdiag_argv(*args: str) -> list[str]:
        """argv running this mdiag (same interpreter) with ``args``."""
        return [sys.executable, "-m", "mdiag", *args]

    @contextlib.contextmanager
    def inside(self, host: str | int) -> Iterator[LabHost]:
        """The calling thread lives in the host's namespace for the body (see :func:`netns`)."""
        h = self.host(host)
        with entered(h.netns):
            yield h

    def call(self, host: str | int, fn: Callable[..., Any], *args: Any,
             timeout: float = DEFAULT_TIMEOUT, **kwargs: Any) -> Any:
        """Run ``fn(*args, **kwargs)`` in a forked child inside the host's namespace.

        The result (or exception) comes back pickled. The child is killed after ``timeout``.
        """
        h = self.host(host)
        ctx = multiprocessing.get_context("fork")
        parent, child = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_child_main, args=(h.netns, fn, args, kwargs, child), daemon=True)
        proc.start()
        child.close()
        try:
            if not parent.poll(timeout):
                raise LabError(f"{getattr(fn, '__name__', fn)} in {h.netns} did not finish "
                               f"within {timeout} s")
            ok, payload = parent.recv()
        finally:
            if proc.is_alive():
                proc.kill()
            proc.join(5)
            parent.close()
        if ok:
            return payload
        exc, text = payload
        if isinstance(exc, BaseException):
            raise exc
        raise LabError(text)

    def describe(self) -> dict[str, Any]:
        """A JSON-ready description: prefix, bridge namespace and settings, hosts."""
        return {"prefix": self.prefix, "ipv6": self.ipv6,
                "bridge": {"netns": self.bridge_netns, "device": BRIDGE, "address": BRIDGE_ADDRESS,
                           "address6": BRIDGE_ADDRESS6 if self.ipv6 else None,
                           "link_local": link_local(BRIDGE_MAC) if self.ipv6 else None},
                "subnet": SUBNET, "subnet6": SUBNET6 if self.ipv6 else None,
                "hosts": [h.to_json() for h in self.all_hosts]}


def flatten_mdb(data: Any) -> list[dict[str, Any]]:
    """``bridge -j mdb show`` output differs across iproute2 versions; flatten to entries."""
    entries: list[dict[str, Any]] = []
    items = data if isinstance(data, list) else [data]
    for item in items:
        if not isinstance(item, dict):
            continue
        if "mdb" in item:
            raw = list(item.get("mdb") or [])
        elif "grp" in item:
            raw = [item]
        else:
            raw = []
        for e in raw:
            entry = dict(e)
            timer = entry.get("timer")
            if isinstance(timer, str):
                try:
                    entry["timer"] = float(timer.strip())
                except ValueError:
                    pass
            entries.append(entry)
    return entries


class _Deferral:
    """While a lab is built or removed, Ctrl-C and SIGTERM are noted, not raised: the build
    stops at its next step (between two ``ip`` commands, never inside one) and removes what
    it made, and a removal always finishes. The signal is then delivered to the handler that
    was there before (the CLI's, so the status stays 130 or 143)."""

    def __init__(self) -> None:
        self.received: int | None = None
        self.holding = False
        self.previous: dict[int, Any] = {}

    def note(self, signum: int, _frame: Any) -> None:
        if self.received is None:
            self.received = signum

    def checkpoint(self) -> None:
        if self.received is not None and not self.holding:
            self.holding = True  # raise once; what follows (the cleanup) runs to its end
            self.deliver()
            raise KeyboardInterrupt  # the previous handler ignored it: stop the build all the same

    def deliver(self) -> None:
        """Hand the noted signal to the previous handler (raises there, like the signal would)."""
        signum, self.received = self.received, None
        if signum is None:
            return
        previous = self.previous.get(signum)
        if callable(previous):
            previous(signum, None)
        elif previous != signal.SIG_IGN:
            raise KeyboardInterrupt


_DEFERRAL: _Deferral | None = None


def _checkpoint() -> None:
    if _DEFERRAL is not None:
        _DEFERRAL.checkpoint()


@contextlib.contextmanager
def _deferred_signals(*, hold: bool = False) -> Iterator[_Deferral]:
    """See :class:`_Deferral`; ``hold``: never stop early (a removal)."""
    global _DEFERRAL
    deferral = _Deferral()
    deferral.holding = hold
    if threading.current_thread() is not threading.main_thread() or _DEFERRAL is not None:
        yield deferral
        return
    for signum in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(signum) != signal.SIG_IGN:  # an ignored signal stays ignored
            deferral.previous[signum] = signal.signal(signum, deferral.note)
    _DEFERRAL = deferral
    try:
        yield deferral
    finally:
        _DEFERRAL = None
        for signum, handler in deferral.previous.items():
            signal.signal(signum, handler)
    deferral.deliver()


@contextlib.contextmanager
def _lock(prefix: str) -> Iterator[None]:
    """One ``lab up`` / ``lab down`` per prefix at a time (across processes); another one is
    refused at once with one line naming the process that holds it."""
    import fcntl

    folder = "/run/lock" if os.path.isdir("/run/lock") else "/tmp"
    path = os.path.join(folder, f"mdiag-lab-{prefix}.lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "?"
            raise LabError(f"lab {prefix} is being built or removed by another mdiag (pid {holder}); "
                           "wait for it to finish, then try again") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


def sweep_stale(pattern: str = r"md(\d+)x\d+") -> list[str]:
    """Remove namespaces of test labs whose process is gone (``md<pid>x<n>-...``, pid dead).

    Labs of running processes are left alone, so parallel test runs never touch each other.
    """
    regex = re.compile(pattern + r"-(?:br|h\d+)")
    removed = []
    for ns in list_names():
        match = regex.fullmatch(ns)
        if not match:
            continue
        pid = int(match.group(1))
        if pid == os.getpid() or os.path.exists(f"/proc/{pid}"):
            continue
        if _ip(["netns", "del", ns], check=False).returncode == 0:
            removed.append(ns)
    return removed


__all__ = ["BRIDGE", "BRIDGE_ADDRESS", "BRIDGE_ADDRESS6", "BRIDGE_MAC", "DEFAULT_PREFIX", "HOST_IFACE",
           "SUBNET", "SUBNET6", "BridgeConfig", "Lab", "LabError", "LabHost", "host_address", "host_address6",
           "host_mac", "link_local", "require_root", "sweep_stale"]

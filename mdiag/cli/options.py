"""Validated argparse value types and the options several commands share.

Every option that names an interface, a namespace, a lab, a lab host, a source, a rate or a
duration goes through one of these types, so an empty or malformed value is refused by argparse
with one line and exit 2 (docs/exit-status.md) before the command runs: nothing ever falls back
to a default because a value was empty. The naming rules themselves live in
:mod:`mdiag.core.names` (the adapters check them again); the duration and rate grammars in
:mod:`mdiag.core.rate`. This module imports nothing heavy: it is loaded while parsing.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, TypeVar

from mdiag.core import names
from mdiag.errors import InputError

T = TypeVar("T")


def _argtype(name: str, check: Callable[[str], T]) -> Callable[[str], T]:
    """An argparse type from a checker raising InputError; ``name`` appears in argparse's messages."""

    def parse(text: str) -> T:
        try:
            return check(text)
        except InputError as exc:
            raise argparse.ArgumentTypeError(exc.message) from None

    parse.__name__ = name
    return parse


#: ``--iface``: an interface name as the kernel accepts it (never empty, never guessed).
iface = _argtype("interface", names.interface_name)
#: ``--netns``: a network namespace NAME as in ``ip netns list`` (never a path).
netns = _argtype("namespace", names.netns_name)
#: ``--lab-prefix``: md + up to 14 lower-case letters or digits.
lab_prefix = _argtype("lab prefix", names.lab_prefix)
#: ``--sender``/``--receiver``/``--anchor``: a lab host, h1..h200.
lab_host = _argtype("lab host", names.lab_host)


def _endpoint(text: str) -> str:
    """``[NS:]IFACE``: an interface, optionally inside a named namespace."""
    ns, sep, name = text.rpartition(":")
    if sep:
        names.netns_name(ns, f"namespace of {text!r}")
    names.interface_name(name, f"interface of {text!r}" if sep else "interface name")
    return text


#: ``--sender-iface NS:IFACE`` and friends (verify).
endpoint = _argtype("[NS:]IFACE", _endpoint)


def _host_list(text: str) -> list[str]:
    items = [item.strip() for item in text.split(",")]
    if not text.strip() or any(not item for item in items):
        raise InputError(f"{text!r} is not a list of lab hosts: give e.g. h2,h3 (no empty items)")
    return [names.lab_host(item) for item in items]


#: ``--receiver h2,h3``: one or more lab hosts, comma-separated.
lab_hosts = _argtype("lab hosts", _host_list)


def _address_items(text: str) -> str:
    """A comma-separated list of addresses with no empty item; parsed later by the command."""
    items = [item.strip() for item in text.split(",")]
    if not text.strip() or any(not item for item in items):
        raise InputError(f"{text!r} has an empty address: give e.g. 198.18.0.11 or "
                         "198.18.0.11,198.18.0.12 (leave the option out for any source)")
    return text


#: ``--source S[,S...]`` (repeatable): never empty, so an empty value cannot mean "any source".
address_list = _argtype("address list", _address_items)


def address(example: str) -> Callable[[str], str]:
    """One address or group, never empty (so an empty value cannot fall back to a default);
    the command parses it. ``example`` ends the error line."""

    def check(text: str) -> str:
        if not text.strip():
            raise InputError(f"the address is empty: give one, e.g. {example} (or leave the option out)")
        return text.strip()

    return _argtype("address", check)


#: ``--group G``: one group (the command checks that it is multicast).
group = address("239.1.2.3")


def duration(high: float, *, allow_zero: bool = False) -> Callable[[str], float]:
    """A duration (``2``, ``2s``, ``500ms``, ``1m``) in seconds, at most ``high``.

    The one duration grammar of the CLI (:func:`mdiag.core.rate.parse_duration`); zero is
    accepted only with ``allow_zero``.
    """

    def parse(text: str) -> float:
        from mdiag.core.rate import parse_duration

        if allow_zero and text.strip().lower().rstrip("ms").strip() in {"0", "0.0"}:
            return 0.0
        try:
            value = parse_duration(text.strip())
        except InputError as exc:
            raise argparse.ArgumentTypeError(exc.message) from None
        if value > high:
            raise argparse.ArgumentTypeError(f"{text} is too long: this option takes at most {high:g} s")
        return value

    parse.__name__ = "duration"  # argparse names the type in its messages
    return parse


def _rate(text: str) -> Any:
    from mdiag.core.rate import parse_rate

    return parse_rate(text)


#: ``--rate 1000pps|10mbit|max``: a :class:`mdiag.core.rate.Rate`.
rate = _argtype("rate", _rate)


def add_iface(parser: argparse.ArgumentParser | Any, *, required: bool = True,
              help: str = "interface to use (required: mdiag never picks one on its own)") -> None:
    """``--iface IFACE`` and ``--netns NS``: every command that touches an interface has both."""
    parser.add_argument("--iface", type=iface, required=required, metavar="IFACE", help=help)
    parser.add_argument("--netns", type=netns, metavar="NS",
                        help="network namespace of the interface, by name as in 'ip netns list'")


def add_json(parser: argparse.ArgumentParser | Any, what: str = "docs/active.md") -> None:
    """``--json``: the report as one JSON document (schema in ``what``)."""
    parser.add_argument("--json", action="store_true", help=f"JSON output (schema in {what})")


def running_lab(prefix: str | None) -> Any:
    """The lab with ``prefix`` (default mdlab) that is up now, or InputError saying it is not.

    Every lab-aware command (delay, verify, zap, replay) finds its lab here, so a lab that
    does not exist is reported the same way everywhere and never replaced by another one.
    """
    from mdiag.adapters.lab import DEFAULT_PREFIX, Lab

    name = prefix or DEFAULT_PREFIX
    lab = Lab.existing(name)
    if lab is None or not lab.is_up():
        hint = "" if prefix is None else f" --lab-prefix {name}"
        raise InputError(f"no lab {name!r} is up: start one with 'mdiag lab up{hint}'"
                         + ("" if prefix else " (or give --lab-prefix)"))
    return lab


def add_lab(parser: argparse.ArgumentParser | Any, *, hosts: tuple[str, ...] = ("sender", "receiver"),
            defaults: tuple[str, ...] = ("h1", "h2")) -> None:
    """``--lab``, ``--lab-prefix P`` and the lab host options: the same on every lab-aware command.

    ``--lab`` alone uses the running lab mdlab; ``--lab-prefix P`` (which implies ``--lab``) another
    one. A lab that is not up is an error (:func:`running_lab`), never replaced by another.
    """
    group = parser.add_argument_group("lab (mdiag lab up)")
    group.add_argument("--lab", action="store_true", help="use the running lab (default prefix mdlab)")
    group.add_argument("--lab-prefix", type=lab_prefix, default=None, metavar="P",
                       help="the lab's prefix (implies --lab; default mdlab)")
    for name, default in zip(hosts, defaults, strict=False):
        group.add_argument(f"--{name}", type=lab_host, default=default, metavar="HOST",
                           help=f"lab {name} host (default {default})")


# ---- numbers: one safety net for every int and float option (issue 9: OverflowError, nan) -------

#: Largest whole number any option takes (a C int): counts, hosts, groups, sizes.
MAX_WHOLE = 2**31 - 1


def whole(low: int = -MAX_WHOLE, high: int = MAX_WHOLE, what: str = "a whole number") -> Callable[[str], int]:
    """A whole number in ``low..high`` (argparse type)."""

    def parse(text: str) -> int:
        try:
            value = int(text.strip(), 10)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if not low <= value <= high:
            if (low, high) == (-MAX_WHOLE, MAX_WHOLE):
                raise argparse.ArgumentTypeError(f"{value} is too {'large' if value > 0 else 'small'} "
                                                 f"(at most {MAX_WHOLE} either way)")
            raise argparse.ArgumentTypeError(f"{value} is outside {low}..{high}")
        return value

    parse.__name__ = "whole number"
    return parse


def finite(low: float = -float(MAX_WHOLE), high: float = float(MAX_WHOLE)) -> Callable[[str], float]:
    """A finite number in ``low..high`` (argparse type): nan and inf are never a setting."""
    import math

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text} is outside {low:g}..{high:g}")
        return value

    parse.__name__ = "number"
    return parse


#: A UDP port to send to or listen on, and a source port (0: any).
port = whole(1, 65535, "a UDP port (1-65535)")
source_port = whole(0, 65535, "a UDP port (0-65535; 0 lets the kernel choose)")


def bound_numbers(parser: argparse.ArgumentParser) -> None:
    """Give every plain ``type=int`` / ``type=float`` option of ``parser`` (and its
    subcommands) a bounded type: ports 0/1..65535, other whole numbers within a C int, floats
    finite. Called once by the CLI on the whole tree, so a new option cannot forget it."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                bound_numbers(sub)
            continue
        if action.type is int:
            if action.dest.endswith("port"):
                action.type = source_port if action.dest.startswith("source") else port
            else:
                action.type = whole()
        elif action.type is float:
            action.type = finite()


class _Deprecated(argparse.Action):
    """An old spelling: stores like the new option and leaves a one-line notice for main() to print."""

    def __init__(self, option_strings: list[str], dest: str, new: str = "", **kwargs: Any) -> None:
        self.new = new
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        if self.nargs == 0:
            values = self.const
        if isinstance(getattr(namespace, self.dest, None), list) and not isinstance(values, list):
            values = [*getattr(namespace, self.dest), values]
        setattr(namespace, self.dest, values)
        notes = list(getattr(namespace, "_deprecations", ()))
        notes.append(f"{option_string} is deprecated, use {self.new} (docs/cli-vocabulary.md); "
                     "the old spelling goes away in the next release")
        namespace._deprecations = notes


def deprecated(parser: argparse.ArgumentParser | Any, old: str, new: str, *, dest: str,
               type: Callable[[str], Any] | None = None, flag: Any = None) -> None:
    """Accept ``old`` as a hidden synonym of ``new`` (same ``dest``), with a notice on stderr.

    ``flag`` makes it a flag storing that value (no argument)."""
    if flag is not None:
        parser.add_argument(old, dest=dest, action=_Deprecated, new=new, nargs=0, const=flag,
                            help=argparse.SUPPRESS)
    else:
        parser.add_argument(old, dest=dest, action=_Deprecated, new=new, type=type,
                            help=argparse.SUPPRESS, metavar=new.lstrip("-").upper())


#: The words ``--fail-on`` takes, mildest first; ``never`` turns the gate off.
FAIL_ON_LEVELS = ("info", "warning", "error", "never")


def _fail_on(text: str) -> Any:
    """``--fail-on LEVEL``: a :class:`~mdiag.core.findings.Severity`, or None for ``never``."""
    from mdiag.core.findings import Severity

    word = text.strip().lower()
    if word not in FAIL_ON_LEVELS:
        raise argparse.ArgumentTypeError(f"use one of {', '.join(FAIL_ON_LEVELS)}, not {text!r}")
    return None if word == "never" else Severity.parse(word)


def add_fail_on(parser: argparse.ArgumentParser | Any, *, default: str, seen: str, why: str,
                strict_synonym: bool = False) -> None:
    """The one severity gate: ``--fail-on LEVEL`` exits 1 when ``seen`` is at least LEVEL.

    Every command that gates on findings spells it this way; ``args.fail_on`` is a Severity
    (None: never). ``default`` differs by command, and ``why`` says why in ``--help``
    (docs/cli-vocabulary.md lists them). ``strict_synonym`` keeps the old ``--strict`` flag
    (= ``--fail-on warning``) for one release, with a notice.
    """
    from mdiag.core.findings import Severity

    parser.add_argument("--fail-on", type=_fail_on, default=default, metavar="LEVEL",
                        help=f"exit 1 when {seen} is at least this severe: {', '.join(FAIL_ON_LEVELS)} "
                             f"(default {default}: {why})")
    if strict_synonym:
        deprecated(parser, "--strict", "--fail-on warning", dest="fail_on", flag=Severity.WARNING)


def fails(level: Any, severities: Any) -> bool:
    """True when the ``--fail-on`` gate ``level`` (None: never) is reached by any of ``severities``."""
    return level is not None and any(severity >= level for severity in severities)


def add_netns(parser: argparse.ArgumentParser | Any) -> None:
    """``--netns NS`` alone, for commands whose interface option has its own shape."""
    parser.add_argument("--netns", type=netns, metavar="NS",
                        help="run inside this network namespace, by name as in 'ip netns list'")


def in_netns(run: Callable[[argparse.Namespace, Any], Any]) -> Callable[[argparse.Namespace, Any], Any]:
    """Wrap a command's ``run`` so it runs inside ``--netns`` (every socket, ioctl and /proc read
    of the command happens there; None: here)."""

    def wrapped(args: argparse.Namespace, env: Any) -> Any:
        if getattr(args, "netns", None) is None:
            return run(args, env)
        from mdiag.adapters.netns import entered

        with entered(args.netns):
            return run(args, env)

    wrapped.__doc__ = run.__doc__
    return wrapped


#: How a unicast address in a GROUP list is answered by default (listen and send offer these).
LISTEN_HINT = "; --unicast or --broadcast listen on other addresses"


def parse_group_list(texts: list[str], *, allow_unicast: bool = False, hint: str = LISTEN_HINT,
                     iface: str | None = None) -> tuple[list[str], list[str]]:
    """The core group-list parser (:func:`mdiag.core.addresses.lists.parse_group_list`), IPv4
    and IPv6, with listen's hint for a unicast address."""
    from mdiag.core.addresses.lists import parse_group_list as parse

    return parse(texts, allow_unicast=allow_unicast, hint=hint, iface=iface)


def parse_sources(texts: list[str], env: Any = None) -> list[str]:
    """Unicast SSM sources (IPv4 or IPv6) from ``--source`` values, deduplicated.

    A bad one raises InputError; with ``env`` every bad one first gets its own error line.
    """
    from mdiag.core.addresses.lists import parse_source_list

    sources, errors = parse_source_list(texts)
    if errors:
        if env is None or len(errors) == 1:
            raise InputError(errors[0])
        for line in errors[:-1]:
            env.error(line)
        raise InputError(errors[-1])
    return sources


class RateWithBareNumber(argparse.Action):
    """``--rate`` in the one rate grammar (``1000pps``, ``2mbit``); a bare number (the old
    ``delay --rate 1000``) is still read as packets/s, with a deprecation notice."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        from mdiag.core.rate import Rate, parse_rate

        text = str(values).strip()
        try:
            try:
                value = float(text)
            except ValueError:
                setattr(namespace, self.dest, parse_rate(text))
                return
            setattr(namespace, self.dest, Rate(value, "pps"))
        except InputError as exc:
            raise argparse.ArgumentError(self, exc.message) from None
        notes = list(getattr(namespace, "_deprecations", ()))
        notes.append(f"{option_string} {text} is deprecated, use {option_string} {text}pps "
                     "(docs/cli-vocabulary.md); the old spelling goes away in the next release")
        namespace._deprecations = notes

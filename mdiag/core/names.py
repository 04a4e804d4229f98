"""Names the user gives for things on the host: interfaces, network namespaces, lab prefixes.

One owner for the rules, used by the CLI's option types (:mod:`mdiag.cli.options`) and again by
the adapters that act on a name (defence in depth: an adapter never reaches the routing table or
``setns`` with an empty or path-like name). Each check returns the name unchanged or raises
:class:`~mdiag.errors.InputError` with one line that says what was wrong and what to do.

* Interface names follow the kernel's ``dev_valid_name()`` (net/core/dev.c): 1..15 bytes
  (``IFNAMSIZ`` 16 with the NUL), not ``.`` or ``..``, no ``/``, ``:`` or white space.
* Namespace names follow iproute2's ``netns_name_valid()`` (ip/ipnetns.c): a *name* under
  ``/run/netns``, never a path: non-empty, no ``/``, not ``.`` or ``..``, shorter than
  ``NAME_MAX``; control characters are refused as well.
* Lab prefixes are ``md`` and up to 14 lower-case letters or digits, so that ``P-h200`` is a
  valid namespace name and a prefix can never name another tool's namespaces.
"""

from __future__ import annotations

import re

from mdiag.errors import InputError

#: IFNAMSIZ - 1: the longest interface name the kernel accepts.
MAX_INTERFACE_NAME = 15
#: Longest namespace name (NAME_MAX - 1, as iproute2 checks ``strlen(name) < NAME_MAX``).
MAX_NETNS_NAME = 254
#: Lab namespace prefixes: ``md`` then up to 14 lower-case letters or digits.
LAB_PREFIX_RE = re.compile(r"md[a-z0-9]{0,14}")
#: A lab host: ``h1`` .. ``h200``.
LAB_HOST_RE = re.compile(r"h([1-9][0-9]{0,2})")

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _shown(text: str) -> str:
    """``text`` quoted for an error line, control characters escaped, long names cut."""
    short = text if len(text) <= 40 else text[:37] + "..."
    return repr(short)


def interface_name(name: str, what: str = "interface name") -> str:
    """``name`` if the kernel would accept it as an interface name (dev_valid_name)."""
    if not name:
        raise InputError(f"{what} is empty: name the interface, e.g. eth0 or lab0 "
                         "(mdiag never picks one on its own)")
    if len(name.encode("utf-8", "surrogateescape")) > MAX_INTERFACE_NAME:
        raise InputError(f"{what} {_shown(name)} is longer than {MAX_INTERFACE_NAME} bytes "
                         "(Linux interface names are 1..15 bytes)")
    if name in (".", "..") or any(c in name for c in "/:") or any(c.isspace() for c in name) \
            or _CONTROL.search(name):
        raise InputError(f"{what} {_shown(name)} is not an interface name (no '/', ':', "
                         "spaces or control characters; not '.' or '..'); see 'mdiag ifaces'")
    return name


def netns_name(name: str, what: str = "network namespace") -> str:
    """``name`` if it is a valid ``ip netns`` name: a name, never a path."""
    if not name:
        raise InputError(f"{what} is empty: give a name from 'ip netns list'")
    if len(name.encode("utf-8", "surrogateescape")) > MAX_NETNS_NAME:
        raise InputError(f"{what} name is {len(name)} characters long, more than the "
                         f"{MAX_NETNS_NAME} a namespace name may have")
    if "/" in name or name in (".", "..") or _CONTROL.search(name):
        raise InputError(f"{what} {_shown(name)} is not a namespace name: give a name from "
                         "'ip netns list' (no '/', not '.' or '..'), not a path")
    return name


def lab_prefix(prefix: str) -> str:
    """``prefix`` if it is a lab prefix: ``md`` and up to 14 lower-case letters or digits."""
    if not LAB_PREFIX_RE.fullmatch(prefix):
        shown = "is empty: it" if not prefix else _shown(prefix)
        raise InputError(f"lab prefix {shown} must be 'md' followed by up to 14 lower-case "
                         "letters or digits (default mdlab)")
    return prefix


def lab_host(name: str) -> str:
    """``name`` if it names a lab host (``h1``.. ``h200``); whether the lab has it is the lab's call."""
    if not LAB_HOST_RE.fullmatch(name):
        shown = "is empty:" if not name else f"{_shown(name)} is not valid:"
        raise InputError(f"lab host {shown} lab hosts are h1, h2, ... "
                         "('mdiag lab status' lists them)")
    return name

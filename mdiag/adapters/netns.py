"""Network namespaces by name: the one module that enters them (setns) and lists them.

A namespace is named as ``ip netns`` names it: a file under ``/run/netns``. The name is
checked by :func:`mdiag.core.names.netns_name` before anything is opened, so a path such as
``../../proc/PID/ns/net`` can never lead into another process's namespace.

:func:`entered` moves only the *calling thread* and always moves it back, even on error.
Sockets created inside keep that namespace for their whole life, which is how one process
measures between two lab namespaces; writes to /proc/sys/net made inside apply to it.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
from collections.abc import Iterator

from mdiag.core import names
from mdiag.errors import InputError, PermissionProblem

#: Where ``ip netns add`` puts the named namespaces.
RUN_NETNS = "/run/netns"
CLONE_NEWNET = 0x40000000

_libc: ctypes.CDLL | None = None


class NoSuchNamespace(InputError):
    """The named network namespace does not exist."""


def setns(fd: int) -> None:
    """Move the calling thread into the network namespace open at ``fd``."""
    global _libc
    if hasattr(os, "setns"):  # Python 3.12+
        os.setns(fd, CLONE_NEWNET)
        return
    if _libc is None:
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


def path(name: str) -> str:
    """``/run/netns/NAME`` for a checked name."""
    return f"{RUN_NETNS}/{names.netns_name(name)}"


def open_namespace(name: str) -> int:
    """An O_RDONLY descriptor of namespace ``name`` (the caller closes it)."""
    try:
        return os.open(path(name), os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise NoSuchNamespace(f"no network namespace {name!r} (see 'ip netns list'; "
                              "for a lab: 'mdiag lab status')") from None
    except PermissionError:
        raise PermissionProblem(f"entering namespace {name!r} needs root or CAP_SYS_ADMIN") from None


def enter_for_good(name: str) -> None:
    """Move this thread into ``name`` without coming back (a forked child's whole life)."""
    fd = open_namespace(name)
    try:
        setns(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def entered(name: str | None) -> Iterator[None]:
    """Run the block with the calling thread inside namespace ``name`` (None: stay here)."""
    if name is None:
        yield
        return
    target = open_namespace(name)
    try:
        try:
            home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            home = os.open("/proc/self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        try:
            try:
                setns(target)
            except PermissionError:
                raise PermissionProblem(f"entering namespace {name!r} needs root or CAP_SYS_ADMIN") from None
            try:
                yield
            finally:
                setns(home)
        finally:
            os.close(home)
    finally:
        os.close(target)


def list_names() -> list[str]:
    """Names of the named network namespaces (``ip netns list``), sorted."""
    try:
        return sorted(os.listdir(RUN_NETNS))
    except FileNotFoundError:
        return []

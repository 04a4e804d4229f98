"""The one rule for every file mdiag writes (captures, JUnit XML, MDB dumps, reports).

- A path that exists, or is a symlink (a dangling one included), is refused unless the
  user said ``--force``; ``--force`` replaces the path itself: a symlink is replaced by
  the new file and whatever it pointed to is left alone.
- The file is written beside its final name and renamed into place when complete, so a
  reader never sees half a file, and a failed or interrupted write leaves nothing behind
  (nor does it destroy the file ``--force`` was replacing).
- Without ``--force`` the new file is linked into place, which fails if someone created
  the name meanwhile: no check-then-clobber race.
- A pipe or device (``/dev/stdout``, a FIFO, ``/dev/null``) holds no file to clobber: it is
  written directly.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from collections.abc import Iterator
from typing import IO, Any

from mdiag.errors import InputError, OutputFailed


class OutputExists(InputError):
    """The output path exists; mdiag does not replace it without --force."""


def _label(path: str, option: str) -> str:
    return f"{option} {path}" if option else path


def is_special(path: str) -> bool:
    """True when ``path`` leads to a pipe, socket or device (written directly, never replaced)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def check_output(path: str, *, force: bool, option: str = "", hint: str = "add --force to overwrite it",
                 make_folder: bool = False) -> None:
    """Refuse ``path`` now, before any work is done, when writing it would break the rule
    (``make_folder``: a missing folder will be created, as CI report folders are)."""
    label = _label(path, option)
    if not path or not path.strip():
        raise InputError(f"{option or 'output'}: an empty file name; give a file to write")
    if os.path.isdir(path):
        raise InputError(f"{label} is a directory; give a file name")
    if is_special(path):
        return
    if os.path.islink(path) and not force:
        target = os.readlink(path)
        what = "a symlink to nothing" if not os.path.exists(path) else "a symlink"
        raise OutputExists(f"{label} is {what} (-> {target}); {hint}")
    if os.path.lexists(path) and not force:
        raise OutputExists(f"{label} exists; {hint}")
    parent = os.path.dirname(path) or "."
    if not make_folder and not os.path.isdir(parent):
        raise InputError(f"{label}: the folder {parent} does not exist; create it first")


@contextlib.contextmanager
def open_output(path: str, *, force: bool, binary: bool = True, option: str = "",
                hint: str = "add --force to overwrite it", make_folder: bool = False) -> Iterator[IO[Any]]:
    """``with open_output(path, force=...) as handle:`` write; the file appears complete at
    the end of the block, or not at all if the block raises."""
    check_output(path, force=force, option=option, hint=hint, make_folder=make_folder)
    if make_folder:
        try:
            os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        except OSError as exc:
            raise InputError(f"cannot write {_label(path, option)}: {exc.strerror or exc}") from None
    label = _label(path, option)
    mode = "wb" if binary else "w"
    if is_special(path):
        try:
            handle = open(path, mode) if binary else open(path, mode, encoding="utf-8")  # noqa: SIM115
        except OSError as exc:
            raise InputError(f"cannot write {label}: {exc.strerror or exc}") from None
        with _write_errors(label), handle:
            yield handle
        return
    parent = os.path.dirname(path) or "."
    try:
        fd, temporary = tempfile.mkstemp(dir=parent, prefix=f".{os.path.basename(path)}.", suffix=".part")
    except OSError as exc:
        raise InputError(f"cannot write {label}: {exc.strerror or exc}") from None
    try:
        umask = os.umask(0o022)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)  # as open() would have made it, not mkstemp's 0600
        with _write_errors(label):
            with os.fdopen(fd, mode) if binary else os.fdopen(fd, mode, encoding="utf-8") as handle:
                yield handle
            _place(temporary, path, force=force, label=label, hint=hint)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def _place(temporary: str, path: str, *, force: bool, label: str, hint: str) -> None:
    if force:
        os.replace(temporary, path)
        return
    try:
        os.link(temporary, path)  # fails if the name appeared meanwhile
    except FileExistsError:
        raise OutputExists(f"{label} appeared while it was written; {hint}") from None
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK):
            raise
        if os.path.lexists(path):  # a file system without hard links: check, then rename
            raise OutputExists(f"{label} appeared while it was written; {hint}") from None
        os.replace(temporary, path)


@contextlib.contextmanager
def _write_errors(label: str) -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        if isinstance(exc, BrokenPipeError):
            raise
        raise OutputFailed(f"cannot write {label}: {exc.strerror or exc}") from None

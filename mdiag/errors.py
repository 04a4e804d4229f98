"""The exception root and the exit statuses every command uses.

Every failure the user can cause or meet is an :class:`MdiagError` subclass that
carries the exit status it maps to. The CLI prints ``mdiag: <message>`` on one line
and exits with that status; anything else escaping is a bug.
"""

from __future__ import annotations

import enum


class ExitStatus(enum.IntEnum):
    """Documented exit statuses (docs/exit-status.md)."""

    OK = 0
    #: The check ran and found a problem (collision, failed expectation, loss...).
    PROBLEM_FOUND = 1
    #: Bad input or usage: unparsable address, unreadable file, unknown option.
    BAD_INPUT = 2
    #: A system piece is missing: tshark, libpcap, iproute2, a kernel feature.
    MISSING_SYSTEM_PIECE = 3
    #: Not allowed: needs root or CAP_NET_RAW / CAP_NET_ADMIN.
    NO_PERMISSION = 4
    #: Output could not be written: no space left (ENOSPC), standard output closed (sysexits EX_IOERR).
    OUTPUT_FAILED = 74
    #: Interrupted by the user (Ctrl-C), as shells report SIGINT.
    INTERRUPTED = 130
    #: Stopped by SIGTERM (``kill``, a CI timeout), as shells report it; a promised summary is printed first.
    TERMINATED = 143


class MdiagError(Exception):
    """Root of every error mdiag reports to the user."""

    exit_status: ExitStatus = ExitStatus.BAD_INPUT

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or self.__class__.__name__).strip())

    @property
    def message(self) -> str:
        return str(self.args[0])


class UsageError(MdiagError):
    """The command line is not valid."""


class InputError(MdiagError):
    """An input (address, file, option value) is not valid."""


class MissingSystemPiece(MdiagError):
    """A required system component is missing."""

    exit_status = ExitStatus.MISSING_SYSTEM_PIECE


class PermissionProblem(MdiagError):
    """This needs root or CAP_NET_RAW / CAP_NET_ADMIN."""

    exit_status = ExitStatus.NO_PERMISSION


class OutputFailed(MdiagError):
    """The output could not be written (disk full, standard output closed)."""

    exit_status = ExitStatus.OUTPUT_FAILED


class CheckFailed(MdiagError):
    """The check ran and found a problem."""

    exit_status = ExitStatus.PROBLEM_FOUND

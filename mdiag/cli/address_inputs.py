"""Inputs of the address commands (mac, classify, collisions): addresses from stdin, channel
plan files and the one-line error of a bad input.

Shared here so no command imports another's helpers. Imports nothing heavy at load time:
``mdiag mac`` starts without scapy (tests/cli/test_no_scapy.py).
"""

from __future__ import annotations

from typing import Any

from mdiag.cli.environment import Environment


def expand_stdin(inputs: list[str], env: Environment) -> list[str]:
    """Inputs with each '-' replaced by the words of stdin (blank lines and '#' comments skipped)."""
    out: list[str] = []
    for text in inputs:
        if text != "-":
            out.append(text)
            continue
        from mdiag.adapters.textinput import MIB, TextLimits, read_lines

        # addresses are kept until answered: 64 MiB is about four million of them
        for line in read_lines("-", TextLimits("a list of addresses", max_bytes=64 * MIB), stdin=env.stdin_binary):
            out.extend(line.split("#", 1)[0].split())
    return out


def error_line(error: dict[str, str]) -> str:
    """The error, prefixed with its input unless the message already names it (also as a repr,
    as for an argument that is not UTF-8: ``'\\udcff' is not an address``)."""
    text, message = error["input"], error["error"]
    named = text in message or repr(text) in message or error.get("origin", "\0") in message  # plan lines
    return message if named else f"{text}: {message}"


#: A plan is read line by line (entries are kept, so its size is bounded too: 64 MiB is
#: about a million entries with long labels).
def read_plan(path: str, env: Environment, take: Any, problems: list[Any], done: str = "audited") -> None:
    """Entries of one plan file (``-``: stdin) through the bounded text reader, given to ``take``;
    an unreadable file or line is one problem in ``problems``, and the entries before it still
    count ("the lines before it were ``done``")."""
    from mdiag.adapters.textinput import MIB, TextInputError, TextLimits, read_lines
    from mdiag.core.addresses.plan import EntryProblem, parse_plan

    name = "stdin" if path == "-" else path
    try:
        take(parse_plan(read_lines(path, TextLimits("a plan file", max_bytes=64 * MIB), stdin=env.stdin_binary),
                        name))
    except TextInputError as exc:
        after = f" (the lines before it were {done})" if "line " in exc.message else ""
        problems.append(EntryProblem(name, name, f"{exc.message}{after}"))

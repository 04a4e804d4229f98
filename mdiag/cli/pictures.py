"""``--html`` / ``--svg`` / ``--png``: the options and file writing shared by analyze,
verify, delay and zap (docs/report.md). The renderer (:mod:`mdiag.htmlreport`, the
``mdiag[report]`` extra) is imported only when one of them is given."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Sequence
from typing import Any

from mdiag.errors import InputError, MissingSystemPiece

__all__ = ["add_options", "check_outputs", "wanted", "write_analysis", "write_probe"]

_EXTRA = "pip install 'mdiag[report]'"


def add_options(parser: argparse.ArgumentParser | Any, *, pictures: bool = False) -> None:
    """``--html FILE`` (and, with ``pictures``, ``--svg FILE`` / ``--png FILE``)."""
    parser.add_argument("--html", metavar="FILE",
                        help="also write a self-contained HTML report (works offline; docs/report.md)")
    if pictures:
        parser.add_argument("--svg", metavar="FILE", help="also write the timeline as a standalone SVG picture")
        parser.add_argument("--png", metavar="FILE", help="also write the timeline as a PNG (needs Chromium)")


def wanted(args: argparse.Namespace) -> list[tuple[str, str]]:
    """(option, path) of every picture asked for."""
    return [(f"--{name}", getattr(args, name)) for name in ("html", "svg", "png")
            if getattr(args, name, None)]


def check_outputs(args: argparse.Namespace) -> None:
    """Before any work: no existing file is overwritten without --force, no path given
    twice, the renderer and (for --png) Chromium are there."""
    outputs = wanted(args)
    if not outputs:
        return
    seen: dict[str, str] = {}
    for option, path in outputs:
        if path == "-":
            raise InputError(f"{option} needs a file name ('-' is standard output, used by the text report)")
        real = os.path.realpath(path)
        if real in seen:
            raise InputError(f"{option} {path}: the same file as {seen[real]}; give each output its own file")
        seen[real] = option
        from mdiag.adapters.outfile import check_output  # the rule for every output file

        check_output(path, force=bool(getattr(args, "force", False)), option=option, make_folder=True)
    try:
        import jinja2  # noqa: F401
    except ImportError:
        raise MissingSystemPiece(f"{outputs[0][0]} needs the report extra (Jinja2): {_EXTRA}") from None
    if getattr(args, "png", None):
        from mdiag.adapters.browser import find_chromium

        try:
            find_chromium()
        except MissingSystemPiece as exc:
            raise MissingSystemPiece(f"--png {exc.message}") from None


def _write(option: str, path: str, data: bytes, force: bool) -> None:
    from mdiag.adapters.outfile import open_output  # refuses existing files and symlinks, writes atomically

    with open_output(path, force=force, option=option, make_folder=True) as handle:
        handle.write(data)


def _png(svg_text: str) -> bytes:
    import tempfile

    from mdiag.adapters.browser import load_page

    with tempfile.TemporaryDirectory(prefix="mdiag-png-") as scratch:
        page = os.path.join(scratch, "picture.svg")
        with open(page, "w", encoding="utf-8") as handle:
            handle.write(svg_text)
        width = int(float(svg_text.split('width="', 1)[1].split('"', 1)[0]))
        height = int(float(svg_text.split('height="', 1)[1].split('"', 1)[0]))
        try:
            return load_page(page, width=width, height=height).png
        except (TimeoutError, RuntimeError, OSError) as exc:
            raise MissingSystemPiece(f"--png: Chromium could not draw the picture ({exc}); "
                                     "--svg writes it without Chromium") from None


def write_analysis(args: argparse.Namespace, reports: Sequence[Any], say: Callable[[str], None]) -> None:
    """Write the pictures asked for of analysed captures (with ``history``)."""
    outputs = wanted(args)
    if not outputs:
        return
    if not reports:
        say(", ".join(option for option, _ in outputs) + " not written: no capture could be analysed")
        return
    from mdiag.htmlreport import lanes, svg
    from mdiag.htmlreport.page import analysis_page

    force = bool(getattr(args, "force", False))
    picture = None
    for option, path in outputs:
        if option == "--html":
            data = analysis_page(reports).encode("utf-8")
        else:
            if picture is None:
                parts = [s for i, r in enumerate(reports) for s in lanes.sections(r, i)]
                picture = svg.picture("mdiag analyze: " + ", ".join(r.name for r in reports), parts)
            data = picture.encode("utf-8") if option == "--svg" else _png(picture)
        _write(option, path, data, force)
        say(f"{option[2:]} report written to {path}")


def write_probe(args: argparse.Namespace, page: Callable[[], str], say: Callable[[str], None]) -> None:
    """Write ``--html`` of an active probe (``page`` renders it)."""
    path = getattr(args, "html", None)
    if not path:
        return
    _write("--html", path, page().encode("utf-8"), bool(getattr(args, "force", False)))
    say(f"html report written to {path}")

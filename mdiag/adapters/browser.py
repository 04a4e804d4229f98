"""Headless Chromium over the DevTools protocol on a pipe: load a local page, collect its
console errors and network requests, take a screenshot.

Used by ``--png`` (a picture of the report's SVG) and by the browser test of the HTML
report. Chromium runs with a fresh profile in a temporary directory, no network
services (``--disable-background-networking`` and friends, every host name resolving
to nothing), and talks over ``--remote-debugging-pipe`` (file descriptors 3 and 4,
JSON messages ended by a NUL byte): no port is opened. Bounded in time; the browser is
always stopped and its profile removed.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mdiag.errors import MissingSystemPiece

__all__ = ["BROWSERS", "PageLoad", "find_chromium", "load_page"]

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--no-default-browser-check",
         "--disable-extensions", "--disable-default-apps", "--mute-audio", "--hide-scrollbars",
         "--host-resolver-rules=MAP * ~NOTFOUND", "--remote-debugging-pipe")


def find_chromium() -> str:
    """The path of a Chromium binary, or :class:`MissingSystemPiece` saying what to install."""
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    raise MissingSystemPiece("needs Chromium (Debian package chromium) to draw a PNG; "
                             "--svg writes the same picture without it")


@dataclass(slots=True)
class PageLoad:
    """What loading one page showed."""

    url: str
    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    png: bytes = b""
    width: int = 0
    height: int = 0
    text: str = ""
    #: the page printed (A4), when asked for
    pdf: bytes = b""


class _Pipe:
    def __init__(self, process: subprocess.Popen[bytes], write_fd: int, read_fd: int, deadline: float) -> None:
        self.process = process
        self.write_fd = write_fd
        self.read_fd = read_fd
        self.deadline = deadline
        self.buffer = b""
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> dict[str, Any]:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.write_fd, json.dumps(message).encode() + b"\0")
        wanted = self.next_id
        while True:
            reply = self._read()
            if reply.get("id") == wanted:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error'].get('message')}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_event(self, method: str) -> dict[str, Any]:
        for index, event in enumerate(self.events):
            if event.get("method") == method:
                return self.events.pop(index)
        while True:
            event = self._read()
            if event.get("method") == method:
                return event
            self.events.append(event)

    def _read(self) -> dict[str, Any]:
        while b"\0" not in self.buffer:
            left = self.deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("Chromium did not answer in time")
            ready, _, _ = select.select([self.read_fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(self.read_fd, 1 << 16)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe "
                                   f"(exit status {self.process.poll()})")
            self.buffer += chunk
        raw, self.buffer = self.buffer.split(b"\0", 1)
        result: dict[str, Any] = json.loads(raw)
        return result


def load_page(path: str | Path, *, width: int = 1280, height: int = 900, full_page: bool = True,
              timeout: float = 60.0, settle: float = 0.3, text: bool = False, pdf: bool = False) -> PageLoad:
    """Open the local file ``path`` in headless Chromium and report what happened:
    console errors and exceptions, every request other than the page itself, and a PNG
    screenshot (of the whole page when ``full_page``); ``text``: the page's visible text;
    ``pdf``: the page as printed on A4 (print media styles)."""
    binary = find_chromium()
    url = Path(path).resolve().as_uri()
    profile = tempfile.mkdtemp(prefix="mdiag-chromium-")
    to_child_r, to_child_w = os.pipe()
    from_child_r, from_child_w = os.pipe()
    process: subprocess.Popen[bytes] | None = None
    try:
        commands, replies = to_child_r, from_child_w

        def child_fds() -> None:   # the DevTools pipe is fd 3 (commands in) and 4 (replies out)
            high_in = fcntl.fcntl(commands, fcntl.F_DUPFD, 10)   # out of the way of 3 and 4 first
            high_out = fcntl.fcntl(replies, fcntl.F_DUPFD, 10)
            os.dup2(high_in, 3)
            os.dup2(high_out, 4)
        process = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            pass_fds=(3, 4), preexec_fn=child_fds)
        os.close(to_child_r)
        os.close(from_child_w)
        to_child_r = from_child_w = -1
        pipe = _Pipe(process, to_child_w, from_child_r, time.monotonic() + timeout)
        target = pipe.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = pipe.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            pipe.send(f"{domain}.enable", session=session)
        pipe.send("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}, session)
        pipe.send("Page.navigate", {"url": url}, session)
        pipe.wait_event("Page.loadEventFired")
        end = time.monotonic() + settle
        while time.monotonic() < end:       # late console messages or requests
            pipe.send("Runtime.evaluate", {"expression": "1"}, session)
            time.sleep(0.05)
        load = PageLoad(url)
        for event in pipe.events:
            method = event.get("method")
            params = event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                load.console_errors.append(" ".join(str(a.get("value", a.get("description", "")))
                                                    for a in params.get("args", [])))
            elif method == "Runtime.exceptionThrown":
                load.console_errors.append(params.get("exceptionDetails", {}).get("text", "exception"))
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                load.console_errors.append(params["entry"].get("text", ""))
            elif method == "Network.requestWillBeSent":
                requested = params.get("request", {}).get("url", "")
                if requested != url:
                    load.requests.append(requested)
        metrics = pipe.send("Page.getLayoutMetrics", session=session)
        size = metrics.get("cssContentSize") or metrics.get("contentSize") or {}
        load.width = int(size.get("width", width)) if full_page else width
        load.height = int(size.get("height", height)) if full_page else height
        shot = pipe.send("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": full_page,
            "clip": {"x": 0, "y": 0, "width": load.width, "height": load.height, "scale": 1}}, session)
        load.png = base64.b64decode(shot["data"])
        if pdf:
            printed = pipe.send("Page.printToPDF", {"paperWidth": 8.27, "paperHeight": 11.69,
                                                    "printBackground": True}, session)
            load.pdf = base64.b64decode(printed["data"])
        if text:
            load.text = pipe.send("Runtime.evaluate", {"expression": "document.body.innerText",
                                                       "returnByValue": True},
                                  session).get("result", {}).get("value", "")
        try:
            pipe.send("Browser.close")
        except (RuntimeError, TimeoutError, OSError):
            pass
        return load
    finally:
        for fd in (to_child_r, to_child_w, from_child_r, from_child_w):
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        if process is not None:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        shutil.rmtree(profile, ignore_errors=True)

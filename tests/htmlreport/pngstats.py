"""Just enough PNG decoding (8-bit RGB/RGBA, all five filters) to tell a blank
screenshot from a drawn one, with the standard library only."""

from __future__ import annotations

import struct
import zlib


def pixels(png: bytes) -> tuple[int, int, int, bytes]:
    """(width, height, bytes per pixel, raw unfiltered rows)."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos = 8
    idat = b""
    width = height = bpp = 0
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos:pos + 8])
        body = png[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and colour in (2, 6), (depth, colour)
            bpp = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * bpp
    out = bytearray()
    prev = bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - bpp] if i >= bpp else 0
            up = prev[i]
            corner = prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + ((left + up) >> 1)) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                pred = left if pa <= pb and pa <= pc else (up if pb <= pc else corner)
                line[i] = (line[i] + pred) & 0xFF
        out += line
        prev = line
    return width, height, bpp, bytes(out)


def _sample(png: bytes, step: int = 7):
    width, height, bpp, data = pixels(png)
    for y in range(0, height, step):
        row = y * width * bpp
        for x in range(0, width, step):
            yield tuple(data[row + x * bpp:row + x * bpp + 3])


def ink_share(png: bytes) -> float:
    """Share of sampled pixels that are not (near) white."""
    samples = list(_sample(png))
    ink = sum(1 for r, g, b in samples if min(r, g, b) < 235)
    return ink / max(len(samples), 1)


def distinct_colours(png: bytes) -> int:
    return len({(r >> 4, g >> 4, b >> 4) for r, g, b in _sample(png)})

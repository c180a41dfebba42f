#!/usr/bin/env python3
"""png_stats.py - what a PNG screenshot shows, with the standard library only (zlib).

    python3 test/png_stats.py FILE.png

Prints one line: WIDTH HEIGHT DISTINCT_COLOURS INK where INK is the share of pixels that differ
from the most common colour (the background). Reads 8-bit greyscale, RGB, RGBA, grey+alpha and
palette PNGs without interlacing, as Chromium and FFmpeg write them.
"""

import struct
import sys
import zlib


def read_png(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG file")
    pos, idat, palette = 8, [], None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
        elif kind == b"PLTE":
            palette = [body[i:i + 3] for i in range(0, len(body), 3)]
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        pos += 12 + length
    if depth != 8 or interlace != 0:
        raise ValueError("only 8-bit, non-interlaced PNGs are read")
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[colour]
    raw = zlib.decompress(b"".join(idat))
    stride = width * channels
    rows, prev = [], bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        ftype, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b = prev[i]
            c = prev[i - channels] if i >= channels else 0
            if ftype == 1:
                line[i] = (line[i] + a) & 255
            elif ftype == 2:
                line[i] = (line[i] + b) & 255
            elif ftype == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 255
        rows.append(bytes(line))
        prev = line
    pixels = []
    for line in rows:
        for x in range(width):
            px = line[x * channels:(x + 1) * channels]
            if colour == 3:
                px = palette[px[0]]
            elif colour in (0, 4):
                px = bytes([px[0]] * 3)
            pixels.append(bytes(px[:3]))
    return width, height, pixels


def main():
    width, height, pixels = read_png(sys.argv[1])
    counts = {}
    for px in pixels:
        counts[px] = counts.get(px, 0) + 1
    background = max(counts.values())
    ink = 1.0 - background / len(pixels)
    print(width, height, len(counts), "%.4f" % ink)


if __name__ == "__main__":
    main()

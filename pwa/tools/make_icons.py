"""Draw the courier app's icons (a yellow bakfiets on deep green) as PNG files.

Standard library only (zlib + struct): shapes are described in a unit square
and rasterised with 4x4 supersampling. The glyph stays inside the central 80 %
circle, so the same files serve as "maskable" icons.

    python pwa/tools/make_icons.py            # writes pwa/static/courier/icons/icon-{192,512}.png
"""

from __future__ import annotations

import math
import struct
import sys
import zlib
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "static" / "courier" / "icons"
BACKGROUND = (0x0B, 0x4F, 0x3A)
GLYPH = (0xFF, 0xD2, 0x3F)
SIZES = (192, 512)
SAMPLES = 4
SCALE = 0.86  # shrink the glyph around the centre into the maskable safe zone


def _segment_distance(px: float, py: float, ax: float, ay: float, bx: float, by: float) -> float:
    dx, dy = bx - ax, by - ay
    t = max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)))
    return math.hypot(px - (ax + t * dx), py - (ay + t * dy))


# The bakfiets, riding to the left: cargo box over the front wheel, frame, saddle, handlebar.
WHEELS = ((0.29, 0.70, 0.125), (0.75, 0.70, 0.125))  # centre x, centre y, radius
RIM = 0.045
BOX = (0.12, 0.36, 0.50, 0.58)  # x0, y0, x1, y1
STROKE = 0.05
SEGMENTS = (
    (0.50, 0.58, 0.75, 0.70),  # down tube to the rear hub
    (0.29, 0.70, 0.40, 0.58),  # front wheel to the box
    (0.63, 0.64, 0.60, 0.42),  # seat tube
    (0.54, 0.41, 0.68, 0.41),  # saddle
    (0.52, 0.58, 0.50, 0.30),  # steerer
    (0.44, 0.29, 0.56, 0.29),  # handlebar
)


def _inside(x: float, y: float) -> bool:
    # Undo the scale around the centre: the shapes are drawn in glyph space.
    x, y = 0.5 + (x - 0.5) / SCALE, 0.5 + (y - 0.5) / SCALE
    for cx, cy, r in WHEELS:
        if abs(math.hypot(x - cx, y - cy) - r) <= RIM / 2:
            return True
        if math.hypot(x - cx, y - cy) <= 0.03:  # hub
            return True
    x0, y0, x1, y1 = BOX
    if x0 <= x <= x1 and y0 <= y <= y1:
        return True
    return any(_segment_distance(x, y, *seg) <= STROKE / 2 for seg in SEGMENTS)


def render(size: int) -> bytes:
    rows = []
    n = SAMPLES
    for py in range(size):
        row = bytearray([0])  # filter type 0 (None) for each scanline
        for px in range(size):
            hits = 0
            for sy in range(n):
                for sx in range(n):
                    if _inside((px + (sx + 0.5) / n) / size, (py + (sy + 0.5) / n) / size):
                        hits += 1
            a = hits / (n * n)
            row += bytes(round(b + (g - b) * a) for b, g in zip(BACKGROUND, GLYPH)) + b"\xff"
        rows.append(bytes(row))
    return png(size, size, b"".join(rows))


def png(width: int, height: int, raw: bytes) -> bytes:
    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def main(argv: list[str]) -> int:
    out = Path(argv[1]) if len(argv) > 1 else OUT
    out.mkdir(parents=True, exist_ok=True)
    for size in SIZES:
        path = out / f"icon-{size}.png"
        path.write_bytes(render(size))
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""Reads a Code 128 back from a PDF page's drawing: the bars are filled rectangles
(``x y w h re f*``) of one height; their widths and the gaps between them, in modules,
are the symbols (6 elements each, the stop 7), checked by the symbol checksum."""

from __future__ import annotations

import re

from reportlab.graphics.barcode.code128 import _patterns

_SYMBOL = {"".join(str(ord(ch.lower()) - 96) for ch in p): v for v, p in _patterns.items()}
_RECT = re.compile(rb"([\d.]+) ([\d.]+) ([\d.]+) ([\d.]+) re f\*")


def read_code128(content: bytes) -> str:
    rects = [tuple(float(n) for n in m.groups()) for m in _RECT.finditer(content)]
    height = max(r[3] for r in rects)
    bars = sorted((x, w) for x, _, w, h in rects if abs(h - height) < 1e-6)
    module = min(w for _, w in bars)
    widths: list[int] = []
    for i, (x, w) in enumerate(bars):
        if i:
            prev_x, prev_w = bars[i - 1]
            widths.append(round((x - prev_x - prev_w) / module))
        widths.append(round(w / module))
    values = []
    while len(widths) > 7:
        values.append(_SYMBOL["".join(map(str, widths[:6]))])
        widths = widths[6:]
    assert widths == [2, 3, 3, 1, 1, 1, 2], "no stop pattern at the end"
    start, *data, check = values
    assert check == (start + sum(i * v for i, v in enumerate(data, 1))) % 103, "wrong checksum"
    out, code_set = [], {103: "A", 104: "B", 105: "C"}[start]
    for v in data:
        if code_set == "C" and v < 100:
            out.append(f"{v:02d}")  # 99 too: in code C it is the digits, not a switch
        elif v == 99 or (v == 100 and code_set != "B") or (v == 101 and code_set != "A"):
            code_set = {99: "C", 100: "B", 101: "A"}[v]
        elif code_set == "A" and v >= 64:
            out.append(chr(v - 64))  # code A's control characters
        else:
            out.append(chr(v + 32))
    return "".join(out)

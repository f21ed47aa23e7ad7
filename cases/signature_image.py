"""A signature's strokes drawn as a PNG, in plain Python (zlib and struct): what the person wrote on the signing
page, kept as an image beside the strokes themselves, made here from the strokes so that the two always agree.

Strokes are lists of points {"x", "y"} in the pad's own pixels (0..width, 0..height), as pointer events gave them.
"""
import struct
import zlib

__all__ = ["MAX_PAD_PX", "strokes_png"]

MAX_PAD_PX = 2000
PEN_RADIUS_PX = 1


def strokes_png(strokes: list[list[dict]], *, width: int, height: int) -> bytes:
    """A greyscale PNG (white paper, black ink) of the strokes, each a polyline of its points."""
    ink = bytearray(b"\xff" * (width * height))

    def dot(x: int, y: int) -> None:
        for dy in range(-PEN_RADIUS_PX, PEN_RADIUS_PX + 1):
            for dx in range(-PEN_RADIUS_PX, PEN_RADIUS_PX + 1):
                px, py = x + dx, y + dy
                if 0 <= px < width and 0 <= py < height:
                    ink[py * width + px] = 0

    for stroke in strokes:
        points = [(round(p["x"]), round(p["y"])) for p in stroke]
        if len(points) == 1:
            dot(*points[0])
        for (x0, y0), (x1, y1) in zip(points, points[1:]):
            steps = max(abs(x1 - x0), abs(y1 - y0), 1)
            for i in range(steps + 1):
                dot(round(x0 + (x1 - x0) * i / steps), round(y0 + (y1 - y0) * i / steps))
    rows = b"".join(b"\x00" + bytes(ink[y * width:(y + 1) * width]) for y in range(height))
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + _chunk(b"IDAT", zlib.compress(rows, 9)) + _chunk(b"IEND", b""))


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

"""A PNG read as a viewer reads it: its chunks checked, its pixels decompressed, so a test knows an image decodes."""

from __future__ import annotations

import struct
import zlib

SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
"""Samples per pixel of each PNG colour type."""


def decoded_size(data: bytes) -> tuple[int, int]:
    """The width and height of a PNG whose chunks are whole (each CRC right) and whose pixel data decompresses to
    exactly the rows its header announces; AssertionError otherwise."""
    assert data.startswith(SIGNATURE), "not a PNG: its signature is missing"
    position, header, pixels = len(SIGNATURE), b"", bytearray()
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length : position + 12 + length])
        assert zlib.crc32(kind + body) == crc, f"the {kind!r} chunk is damaged"
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            pixels += body
        elif kind == b"IEND":
            break
        position += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert width > 0 and height > 0 and interlace == 0
    row = 1 + -(-width * _CHANNELS[colour] * depth // 8)  # a filter byte, then the samples
    assert len(zlib.decompress(bytes(pixels))) == height * row, "the pixel data is not the size of the image"
    return width, height

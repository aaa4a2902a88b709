"""png.py: the smallest PNG reader and writer the world and its evaluator need (numpy only).

Writes 8-bit RGB; reads 8-bit grey, grey+alpha, RGB and RGBA, non-interlaced (every filter
type), returning an HxWx3 uint8 array (alpha is dropped). Anything else is refused loudly.
Files are written to a temporary name and renamed, so a reader never sees half a picture."""
import os
import struct
import zlib

import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHANNELS = {0: 1, 4: 2, 2: 3, 6: 4}  # colour type -> samples per pixel
MAX_SIDE = 1 << 14                    # bounds the allocation a hostile header could ask for


def _chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def write_png(path, img):
    """img: HxWx3 uint8. Filter 0 on every row: simple, and these images are tiny."""
    img = np.ascontiguousarray(img, dtype=np.uint8)
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"{path}: want an HxWx3 image, got shape {img.shape}")
    h, w, _ = img.shape
    raw = np.zeros((h, 1 + 3 * w), np.uint8)
    raw[:, 1:] = img.reshape(h, 3 * w)
    data = (SIGNATURE + _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + _chunk(b"IDAT", zlib.compress(raw.tobytes(), 6)) + _chunk(b"IEND", b""))
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def _paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def _unfilter(data, h, stride, bpp):
    """Undoes the per-row filters; rows of type 0-2 vectorised, 3-4 (byte-serial) in a loop."""
    out = np.zeros((h, stride), np.uint8)
    prev = np.zeros(stride, np.uint8)
    pos = 0
    for y in range(h):
        ftype = data[pos]
        row = np.frombuffer(data, np.uint8, stride, pos + 1).copy()
        pos += 1 + stride
        if ftype == 1:
            for x in range(bpp, stride, bpp):  # add the pixel to the left, one pixel at a time
                row[x:x + bpp] += row[x - bpp:x]
        elif ftype == 2:
            row += prev
        elif ftype in (3, 4):
            r, p = row.astype(np.int32), prev.astype(np.int32)
            for x in range(stride):
                a = r[x - bpp] if x >= bpp else 0
                c = p[x - bpp] if x >= bpp else 0
                pred = (a + p[x]) // 2 if ftype == 3 else _paeth(a, p[x], c)
                r[x] = (r[x] + pred) & 0xFF
            row = r.astype(np.uint8)
        elif ftype != 0:
            raise ValueError(f"bad PNG filter type {ftype} on row {y}")
        out[y] = row
        prev = row
    return out


def read_png(path):
    """Returns an HxWx3 uint8 array."""
    with open(path, "rb") as f:
        blob = f.read()
    if blob[:8] != SIGNATURE:
        raise ValueError(f"{path}: not a PNG file")
    pos, header, idat = 8, None, []
    while pos + 8 <= len(blob):
        length, kind = struct.unpack(">I4s", blob[pos:pos + 8])
        data = blob[pos + 8:pos + 8 + length]
        if len(data) != length:
            raise ValueError(f"{path}: chunk {kind!r} runs past the end of the file")
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", data)
        elif kind == b"IDAT":
            idat.append(data)
        elif kind == b"IEND":
            break
        pos += 12 + length
    if header is None:
        raise ValueError(f"{path}: no IHDR chunk")
    w, h, depth, ctype, _, _, interlace = header
    if depth != 8 or ctype not in CHANNELS or interlace:
        raise ValueError(f"{path}: only 8-bit non-interlaced grey/RGB(A) is supported "
                         f"(depth {depth}, colour type {ctype}, interlace {interlace})")
    if not (0 < w <= MAX_SIDE and 0 < h <= MAX_SIDE):
        raise ValueError(f"{path}: size {w}x{h} out of range")
    bpp = CHANNELS[ctype]
    data = zlib.decompress(b"".join(idat))
    if len(data) != h * (1 + w * bpp):
        raise ValueError(f"{path}: image data is {len(data)} bytes, want {h * (1 + w * bpp)}")
    px = _unfilter(data, h, w * bpp, bpp).reshape(h, w, bpp)
    if bpp <= 2:
        return np.repeat(px[:, :, :1], 3, axis=2)
    return np.ascontiguousarray(px[:, :, :3])

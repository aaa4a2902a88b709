#!/usr/bin/python3
"""gen_torch_bin.py: writes the PyTorch checkpoints tests/test_torch_bin.c reads, into
tests/data/torch/: real torch.save outputs (good files) and hand-made hostile ones. Run with
Debian's /usr/bin/python3 (python3-torch); the output is deterministic, so re-running it must
leave git clean. Element values follow value(dtype, storage index) below, which the C test
recomputes; every float is exactly representable in f16 and bf16 (storages stay small)."""
import collections
import io
import os
import struct
import sys
import zipfile
import zlib

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "torch")


# --- values the C test recomputes from (dtype, index into the storage) -----------------------

def value(dtype, i):
    if dtype in (torch.float32, torch.float16, torch.bfloat16, torch.float64):
        return i * 0.25 - 3
    if dtype == torch.int64:
        return i * 1000000007 - 3000000000
    if dtype == torch.int32:
        return i * 100003 - 1000000
    if dtype == torch.int16:
        return i * 37 - 3000
    if dtype == torch.int8:
        return (i * 37) % 256 - 128
    if dtype == torch.uint8:
        return (i * 37) % 256
    if dtype == torch.bool:
        return i % 3 == 0
    raise ValueError(dtype)


def make(shape, dtype):
    n = 1
    for d in shape:
        n *= d
    assert n <= 256, "bf16 holds i * 0.25 - 3 exactly only for small i"
    return torch.tensor([value(dtype, i) for i in range(n)], dtype=dtype).reshape(shape)


def save(obj, name, **kw):
    path = os.path.join(OUT, name)
    torch.save(obj, path, **kw)
    return path


# --- good files: torch's own writer ----------------------------------------------------------

def basic():
    sd = {
        "scalar_f32": make((), torch.float32),
        "vec_f32": make((7,), torch.float32),
        "mat_f32": make((3, 4), torch.float32),
        "cube_f16": make((2, 3, 4), torch.float16),
        "r4_bf16": make((2, 1, 3, 2), torch.bfloat16),
        "vec_f64": make((5,), torch.float64),
        "vec_i64": make((4,), torch.int64),
        "vec_i32": make((4,), torch.int32),
        "vec_i16": make((4,), torch.int16),
        "vec_i8": make((6,), torch.int8),
        "vec_u8": make((6,), torch.uint8),
        "vec_bool": make((5,), torch.bool),
        "empty_f32": make((0, 3), torch.float32),
    }
    return save(sd, "basic.bin")


def views(name, **kw):
    b = make((3, 5), torch.float32)
    c = make((10, 4), torch.float32)
    d = make((4, 2), torch.float16)
    w = make((3, 2), torch.bfloat16)
    sd = collections.OrderedDict()
    sd["base"] = b
    sd["transposed"] = b.t()            # strides (1, 5): not contiguous
    sd["rows"] = c[3:7]                 # storage offset 12
    sd["block"] = c[2:6, 1:3]           # offset 9, strides (4, 1)
    sd["transposed_f16"] = d.t()        # the storage holds only d
    sd["tied_a"] = w                    # tied weights: one storage, three keys
    sd["tied_b"] = w
    sd["tied_row"] = w[1]               # offset 2 into the same storage
    return save(sd, name, **kw)


def params():
    sd = collections.OrderedDict()
    sd["weight"] = torch.nn.Parameter(make((2, 3), torch.float32))
    sd["bias"] = torch.nn.Parameter(make((3,), torch.bfloat16), requires_grad=False)
    return save(sd, "params.bin")


def module():
    # Module.state_dict() carries a _metadata attribute, which pickles as a BUILD.
    m = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.LayerNorm(3))
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(make(tuple(p.shape), torch.float32))
    return save(m.state_dict(), "module.bin")


# --- a zip writer of our own, for zip64 and hostile archives ---------------------------------

def write_zip(path, entries, zip64=False, deflate=()):
    """entries: [(name, bytes)]; names in deflate are stored compressed (method 8).
    zip64=True uses every zip64 form: 0xffffffff placeholders with the zip64 extra field in
    local and central headers, the zip64 end record and its locator."""
    out = io.BytesIO()
    central = []
    for name, data in entries:
        nb = name.encode()
        method = 8 if name in deflate else 0
        comp = data
        if method == 8:
            c = zlib.compressobj(9, zlib.DEFLATED, -15)
            comp = c.compress(data) + c.flush()
        crc = zlib.crc32(data)
        off = out.tell()
        if zip64:
            extra = struct.pack("<HHQQ", 1, 16, len(data), len(comp))
            sizes = (0xFFFFFFFF, 0xFFFFFFFF)
        else:
            extra, sizes = b"", (len(comp), len(data))
        out.write(struct.pack("<IHHHHHIIIHH", 0x04034B50, 45 if zip64 else 20, 0, method, 0, 0,
                              crc, sizes[0], sizes[1], len(nb), len(extra)) + nb + extra + comp)
        if zip64:
            cextra = struct.pack("<HHQQQ", 1, 24, len(data), len(comp), off)
            csz, cusz, coff = 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF
        else:
            cextra, csz, cusz, coff = b"", len(comp), len(data), off
        central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45 if zip64 else 20,
                                   45 if zip64 else 20, 0, method, 0, 0, crc, csz, cusz,
                                   len(nb), len(cextra), 0, 0, 0, 0, coff) + nb + cextra)
    cd_off = out.tell()
    cd = b"".join(central)
    out.write(cd)
    n = len(entries)
    if zip64:
        end64 = out.tell()
        out.write(struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, n, n, len(cd), cd_off))
        out.write(struct.pack("<IIQI", 0x07064B50, 0, end64, 1))
        out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF,
                              0xFFFFFFFF, 0))
    else:
        out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, n, n, len(cd), cd_off, 0))
    with open(os.path.join(OUT, path), "wb") as f:
        f.write(out.getvalue())
    return out.getvalue()


def entries_of(path):
    with zipfile.ZipFile(path) as z:
        return [(i.filename, z.read(i.filename)) for i in z.infolist()]


# --- hand-made pickles: the opcodes torch.save emits, with values we choose -------------------

class Pickle:
    def __init__(self):
        self.b = bytearray(b"\x80\x02")  # PROTO 2

    def op(self, *bs):
        for x in bs:
            self.b += x if isinstance(x, (bytes, bytearray)) else bytes([x])
        return self

    def glob(self, module, name):
        return self.op(b"c" + module.encode() + b"\n" + name.encode() + b"\n")

    def str(self, s):
        s = s.encode()
        return self.op(b"X" + struct.pack("<I", len(s)) + s)

    def int(self, i):
        if 0 <= i < 256:
            return self.op(b"K", i)
        if -2**31 <= i < 2**31:
            return self.op(b"J" + struct.pack("<i", i))
        return self.op(b"\x8a\x08" + struct.pack("<q", i))

    def tuple(self, items):
        self.op(b"(")
        for i in items:
            self.int(i)
        return self.op(b"t")

    def tensor(self, stype, key, numel, offset, size, stride):
        self.glob("torch._utils", "_rebuild_tensor_v2").op(b"((")
        self.str("storage").glob("torch", stype).str(key).str("cpu").int(numel).op(b"tQ")
        self.int(offset).tuple(size).tuple(stride).op(b"\x89")
        return self.glob("collections", "OrderedDict").op(b")R", b"tR")

    def state_dict(self, tensors):
        """tensors: [(name, stype, key, numel, offset, size, stride)]"""
        self.op(b"}(")
        for name, *t in tensors:
            self.str(name).tensor(*t)
        return self.op(b"u.")


def hand_archive(path, pkl, storages, **kw):
    """A torch-shaped archive: arch/data.pkl, arch/data/<key>, arch/version."""
    ents = [("arch/data.pkl", bytes(pkl))]
    ents += [("arch/data/" + k, v) for k, v in storages]
    ents.append(("arch/version", b"3\n"))
    return write_zip(path, ents, **kw)


F32x16 = struct.pack("<16f", *[value(torch.float32, i) for i in range(16)])


def one_tensor(path, numel=16, offset=0, size=(4, 4), stride=(4, 1), key="0", stored="0"):
    p = Pickle().state_dict([("w", "FloatStorage", key, numel, offset, size, stride)])
    hand_archive(path, p.b, [(stored, F32x16)])


def raw_pickle(path, body):
    hand_archive(path, body, [("0", F32x16)])


def hostile(basic_path):
    good = entries_of(basic_path)
    raw = open(basic_path, "rb").read()

    # Archive damage.
    with open(os.path.join(OUT, "truncated.bin"), "wb") as f:
        f.write(raw[: len(raw) // 2])
    with open(os.path.join(OUT, "garbage.bin"), "wb") as f:
        f.write(bytes((i * 97 + 13) % 256 for i in range(200)))
    z = bytearray(raw)
    cd = z.rfind(b"PK\x05\x06")
    cd_off = struct.unpack_from("<I", z, cd + 16)[0]
    z[cd_off: cd_off + 4] = b"PK\x09\x09"
    with open(os.path.join(OUT, "bad_cd_sig.bin"), "wb") as f:
        f.write(z)
    z = bytearray(raw)
    struct.pack_into("<I", z, cd + 16, len(raw) - 10)  # directory offset near the end, in
    end64 = z.rfind(b"PK\x06\x06")                     # both end records torch writes
    struct.pack_into("<Q", z, end64 + 48, len(raw) - 10)
    with open(os.path.join(OUT, "bad_cd_offset.bin"), "wb") as f:
        f.write(z)
    z = bytearray(raw)
    first = z.find(b"PK\x01\x02")
    struct.pack_into("<I", z, first + 42, cd_off + 1000)  # local header past the directory
    with open(os.path.join(OUT, "bad_local_offset.bin"), "wb") as f:
        f.write(z)
    z = bytearray(write_zip("zip64_bad_locator.bin", good, zip64=True))
    loc = z.rfind(b"PK\x06\x07")
    struct.pack_into("<Q", z, loc + 8, len(z) - 30)
    with open(os.path.join(OUT, "zip64_bad_locator.bin"), "wb") as f:
        f.write(z)
    write_zip("deflated.bin", good, deflate={n for n, _ in good if "/data/" in n})
    write_zip("missing_storage.bin", [e for e in good if not e[0].endswith("/data/3")])

    # Pickles that would run code, or use what torch.save never writes.
    raw_pickle("os_system.bin", Pickle().glob("os", "system").str("echo pwned").op(b"\x85R.").b)
    p = Pickle()
    p.b[1] = 4
    raw_pickle("stack_global_eval.bin", p.op(b"\x8c\x08builtins\x8c\x04eval\x93").str("1")
               .op(b"\x85R.").b)
    raw_pickle("unknown_opcode.bin", Pickle().op(b"}", 0xFE, b".").b)
    raw_pickle("newobj.bin", Pickle().glob("collections", "OrderedDict").op(b")\x81.").b)
    raw_pickle("reduce_storage.bin", Pickle().glob("torch", "FloatStorage").op(b")R.").b)
    raw_pickle("build_state.bin", Pickle().glob("collections", "OrderedDict").op(b")R}")
               .str("x").int(1).op(b"sb.").b)
    raw_pickle("bad_memo.bin", Pickle().op(b"}h\x07.").b)
    raw_pickle("not_dict.bin", Pickle().op(b"].").b)
    raw_pickle("huge_string.bin", Pickle().op(b"X\xf0\xff\xff\x0f").b)
    raw_pickle("no_stop.bin", Pickle().op(b"}(").str("w").b)
    raw_pickle("nesting_marks.bin", Pickle().op(b"(" * 1000, b")" * 1000, b"t" * 1000, b".").b)
    raw_pickle("nesting_lists.bin", Pickle().op(b"]" * 1000, b"a" * 999, b".").b)
    p = Pickle().state_dict([("w", "FloatStorage", "0", 16, 0, (4,), (1,)),
                             ("w", "FloatStorage", "0", 16, 4, (4,), (1,))])
    raw_pickle("dup_key.bin", p.b)

    # Views that reach outside their storage, and storages of the wrong size.
    one_tensor("past_storage.bin", size=(4, 5), stride=(5, 1))
    one_tensor("offset_past.bin", offset=13, size=(4,), stride=(1,))
    one_tensor("huge_shape.bin", size=(1 << 40, 1 << 40), stride=(0, 0))
    one_tensor("numel_mismatch.bin", numel=20)


def main():
    if not hasattr(torch, "save"):
        sys.exit("gen_torch_bin.py needs torch: run it with /usr/bin/python3")
    os.makedirs(OUT, exist_ok=True)
    b = basic()
    views("views.bin")
    views("proto4.bin", pickle_protocol=4)  # FRAME, MEMOIZE, STACK_GLOBAL, SHORT_BINUNICODE
    params()
    module()
    write_zip("zip64.bin", entries_of(b), zip64=True)
    one_tensor("hand_made.bin", size=(2, 3), stride=(1, 2), offset=5)
    hostile(b)


if __name__ == "__main__":
    main()

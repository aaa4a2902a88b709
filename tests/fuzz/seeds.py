#!/usr/bin/python3
"""Writes the fuzz targets' seed corpora (tests/fuzz/corpus/TARGET/) from the project's own
test files and a few small hand-made inputs that reach each parser's branches. Run from the
repository root with Debian's python3 (Pillow for the JPEG seeds); the output is committed."""
import base64, io, json, os, shutil, struct, zipfile, zlib

from PIL import Image

OUT = "tests/fuzz/corpus"


def put(target, name, data):
    os.makedirs(f"{OUT}/{target}", exist_ok=True)
    with open(f"{OUT}/{target}/{name}", "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def safetensors(tensors, meta=None):
    """tensors: name -> (dtype, shape, bytes)."""
    header, blob = {}, b""
    if meta is not None:
        header["__metadata__"] = meta
    for name, (dtype, shape, data) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(blob), len(blob) + len(data)]}
        blob += data
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + blob


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(w, h, colour_type, depth, rows, extra=b""):
    raw = b"".join(b"\0" + r for r in rows)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, colour_type, 0, 0, 0))
            + extra + png_chunk(b"IDAT", zlib.compress(raw)) + png_chunk(b"IEND", b""))


def pil_bytes(im, fmt, **kw):
    b = io.BytesIO()
    im.save(b, fmt, **kw)
    return b.getvalue()


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    f32 = struct.pack("<4f", 1, -2, 0.5, 3)

    # safetensors: dtypes, a scalar, an empty tensor, metadata, and the golden tiny shards' headers
    put("safetensors", "f32", safetensors({"w": ("F32", [2, 2], f32)}))
    put("safetensors", "dtypes", safetensors({"a": ("F16", [2], b"\0<\0<"), "b": ("BF16", [1, 2], b"\x80?\x80?"),
                                             "c": ("F8_E4M3", [4], b"\x38\x40\x48\x50"), "d": ("I64", [], b"\1" + b"\0" * 7),
                                             "e": ("U8", [0], b""), "f": ("BOOL", [1], b"\1")}, {"format": "pt"}))
    put("safetensors", "empty", safetensors({}))
    for name in ("model-00001-of-00002", "model-00002-of-00002"):
        with open(f"tests/golden/deepseek/v3-tiny-sharded/{name}.safetensors", "rb") as f:
            n = struct.unpack("<Q", f.read(8))[0]
            head = f.read(n)
        # the header with its tensors' bytes zeroed-out and cut to 4 KB so seeds stay small
        hdr = json.loads(head)
        keep = dict(list((k, v) for k, v in hdr.items() if k != "__metadata__")[:6])
        put("safetensors", name, safetensors({k: (v["dtype"], v["shape"], bytes(v["data_offsets"][1] - v["data_offsets"][0]))
                                              for k, v in keep.items() if v["data_offsets"][1] - v["data_offsets"][0] <= 4096}))

    # index.json beside a.safetensors ("x") and b.safetensors ("y"), as fuzz_index.c makes them
    put("index", "two_shards", json.dumps({"metadata": {"total_size": 16}, "weight_map": {"x": "a.safetensors", "y": "b.safetensors"}}))
    put("index", "one_shard", json.dumps({"weight_map": {"x": "a.safetensors"}}))
    put("index", "wrong_shard", json.dumps({"weight_map": {"x": "b.safetensors"}}))
    put("index", "path", json.dumps({"weight_map": {"x": "../a.safetensors"}}))
    put("index", "golden", open("tests/golden/deepseek/v3-tiny-sharded/model.safetensors.index.json").read()[:2000])

    # PyTorch .bin files: the reader's own test files; their data.pkl for the pickle target
    for name in sorted(os.listdir("tests/data/torch")):
        data = open(f"tests/data/torch/{name}", "rb").read()
        put("torch_bin", name, data)
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                for e in z.namelist():
                    if e.endswith("data.pkl"):
                        put("pickle", name.replace(".bin", ".pkl"), z.read(e))
        except (zipfile.BadZipFile, NotImplementedError, OSError, EOFError, ValueError):
            pass

    # config.json: the built-in model, the golden Janus and DeepSeek ones, the chat fixtures
    for src in ("models/vkseek-shapes", "tests/golden/janus/janus_tiny", "tests/golden/deepseek/v3-tiny",
                "tests/golden/deepseek/v2lite-tiny"):
        put("config", src.replace("/", "_"), open(f"{src}/config.json", "rb").read())
    for d in sorted(os.listdir("tests/data/chat")):
        if os.path.exists(f"tests/data/chat/{d}/config.json"):
            put("config", f"chat_{d}", open(f"tests/data/chat/{d}/config.json", "rb").read())

    # tokenizer.json: the small ones (the built-in model's, the tiny test models')
    for src in ("models/vkseek-shapes", "tests/data/tiny-chat", "tests/data/tiny-janus"):
        put("tokenizer_json", src.replace("/", "_"), open(f"{src}/tokenizer.json", "rb").read())

    # text to tokenize: the golden cases (scripts, digits, emoji, special tokens, whitespace)
    cases = json.load(open("tests/golden/tokenizer/deepseek_v3/cases.json"))["cases"]
    for c in cases:
        put("tokenize", c["name"], bytes.fromhex(c["utf8_hex"]))

    # pictures: PNG colour types and depths, a text chunk; JPEG baseline, progressive, grey, EXIF-rotated
    rgb = [b"".join(bytes((x * 30 % 256, y * 40 % 256, (x + y) * 20 % 256)) for x in range(6)) for y in range(5)]
    put("image", "rgb8.png", png(6, 5, 2, 8, rgb))
    put("image", "grey16.png", png(3, 2, 0, 16, [b"\x12\x34\xff\xff\0\0"] * 2))
    put("image", "palette.png", png(4, 2, 3, 8, [b"\0\1\2\0"] * 2, png_chunk(b"PLTE", b"\xff\0\0\0\xff\0\0\0\xff")))
    put("image", "rgba.png", png(2, 2, 6, 8, [b"\1\2\3\4\5\6\7\x08"] * 2, png_chunk(b"tEXt", b"prompt\0a fox")))
    im = Image.new("RGB", (16, 12))
    im.putdata([(x * 16, y * 20, 128) for y in range(12) for x in range(16)])
    put("image", "pil.png", pil_bytes(im, "PNG"))
    put("image", "baseline.jpg", pil_bytes(im, "JPEG", quality=80))
    put("image", "progressive.jpg", pil_bytes(im, "JPEG", quality=60, progressive=True))
    put("image", "grey.jpg", pil_bytes(im.convert("L"), "JPEG"))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90
    put("image", "exif6.jpg", pil_bytes(im, "JPEG", exif=exif.tobytes()))

    # request bodies: chat (text, parts, a data: URL picture, sampling, stop) and images
    pic = "data:image/png;base64," + base64.b64encode(png(6, 5, 2, 8, rgb)).decode()
    put("request", "chat_text", json.dumps({"model": "vkseek-shapes", "messages": [{"role": "user", "content": "hi"}]}))
    put("request", "chat_parts", json.dumps({"messages": [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": pic}},
                                     {"type": "text", "text": "what colour is the star?"}]},
        {"role": "assistant", "content": "<think>red</think>red"},
        {"role": "user", "content": [{"type": "text", "text": "sure?"}]}],
        "temperature": 0.7, "top_p": 0.9, "max_tokens": 20, "seed": 3, "n": 1,
        "stop": ["\n\n", "."], "stream": True, "stream_options": {"include_usage": True}}))
    put("request", "chat_gallery", json.dumps({"messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": "http://127.0.0.1:8080/gallery/0123456789abcdef.png"}]}], "stop": "x"}))
    put("request", "images", json.dumps({"prompt": "a large green star in the centre on a white background",
                                        "n": 2, "size": "16x16", "seed": 7, "cfg": 5, "temperature": 1,
                                        "response_format": "b64_json"}))
    put("request", "images_url", json.dumps({"prompt": "a fox", "response_format": "url", "size": None}))


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""world.py: the synthetic world the built-in model learns: 64x64 pictures of one or two flat
shapes on a plain background, their captions, and questions with short exact answers.

Everything is a pure function of an explicit random generator (numpy's default_rng); there is
no global state, so a seed always gives the same scenes and the same pixels. Seeds below
1_000_000 are for training; the evaluator (tools/eval) draws from 1_000_000 upwards.

  python3 tools/world/world.py --seed S --count N --split train|heldout --out DIR"""
import argparse
import json
import os
import re
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from png import write_png  # noqa: E402  (this directory's png.py)

SIZE = 64       # image side, pixels
SUPERSAMPLE = 4  # shapes are drawn on a 4x4 grid of points per pixel, then box-averaged
EVAL_SEED_BASE = 1_000_000

SHAPES = ["circle", "square", "triangle", "star", "cross"]
COLOURS = {
    "red": (220, 40, 40), "green": (40, 170, 60), "blue": (40, 80, 220), "yellow": (240, 220, 40),
    "purple": (140, 60, 180), "orange": (245, 140, 30), "pink": (245, 130, 190),
    "cyan": (40, 200, 210),
}
BACKGROUNDS = dict(COLOURS, white=(250, 250, 250), black=(20, 20, 20), gray=(128, 128, 128))
CELLS = (14, 32, 50)  # cell centres on each axis
POSITIONS = ["top left", "top", "top right", "left", "centre", "right",
             "bottom left", "bottom", "bottom right"]  # row-major over CELLS
SIZES = {"small": 12, "large": 22}  # nominal width across, pixels
JITTER_CENTRE, JITTER_SIZE = 2.0, 1.0
STAR_INNER = 0.42  # inner/outer radius; a little fatter than a regular pentagram's 0.382

# Colour-shape pairs never shown in training: generation of them tests composition.
HELD_OUT = [("red", "star"), ("green", "cross"), ("blue", "triangle"), ("yellow", "circle"),
            ("purple", "square"), ("cyan", "star")]


def cell_centre(position):
    i = POSITIONS.index(position)
    return CELLS[i % 3], CELLS[i // 3]


def scene_rng(seed, index):
    """The generator for example `index` of a run: each example is independent of how many
    come before it, so any slice of a data set can be made on its own."""
    return np.random.default_rng([seed, index])


# ---- geometry: each shape as an inside-test on coordinates relative to its centre, in units
# ---- of half its width (so the shape spans [-1, 1] across)

def _star_polygon():
    angles = -np.pi / 2 + np.arange(10) * np.pi / 5  # first vertex points up (y grows down)
    radii = np.where(np.arange(10) % 2 == 0, 1.0, STAR_INNER)
    return radii * np.cos(angles), radii * np.sin(angles)


STAR_X, STAR_Y = _star_polygon()


def _inside_polygon(x, y, px, py):
    """Even-odd rule: a point is inside when a ray to +x crosses the boundary an odd number
    of times."""
    inside = np.zeros(x.shape, bool)
    for i in range(len(px)):
        x1, y1, x2, y2 = px[i], py[i], px[i - 1], py[i - 1]
        crosses = (y1 > y) != (y2 > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            xc = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
        inside ^= crosses & (x < xc)
    return inside


def inside(shape, x, y):
    x, y = np.broadcast_arrays(x, y)
    ax, ay = np.abs(x), np.abs(y)
    if shape == "circle":
        return x * x + y * y <= 1
    if shape == "square":
        return (ax <= 1) & (ay <= 1)
    if shape == "triangle":  # apex up at y=-1, base along y=+1
        return (y <= 1) & (ax <= (y + 1) / 2)
    if shape == "star":
        return _inside_polygon(x, y, STAR_X, STAR_Y)
    if shape == "cross":  # a plus sign, arms a third of the width
        return ((ax <= 1) & (ay <= 1 / 3)) | ((ax <= 1 / 3) & (ay <= 1))
    raise ValueError(f"unknown shape {shape!r}")


def coverage(shape, cx, cy, d, h=SIZE, w=SIZE, x0=0.0, y0=0.0, ss=SUPERSAMPLE):
    """Fraction of each pixel of an h x w window (its top-left corner at x0, y0 in image
    pixels) covered by `shape` of width d centred at (cx, cy): ss x ss samples per pixel."""
    offs = (np.arange(ss) + 0.5) / ss
    xs = x0 + (np.arange(w)[:, None] + offs).ravel()
    ys = y0 + (np.arange(h)[:, None] + offs).ravel()
    r = d / 2
    hit = inside(shape, (xs[None, :] - cx) / r, (ys[:, None] - cy) / r)
    return hit.reshape(h, ss, w, ss).mean(axis=(1, 3))


def render(scene):
    """The scene's picture: HxWx3 uint8. Shapes are blended over the background by coverage,
    which antialiases their edges."""
    img = np.empty((SIZE, SIZE, 3), np.float64)
    img[:] = BACKGROUNDS[scene["background"]]
    for s in scene["shapes"]:
        # only the pixels the shape's bounding box touches can be covered
        r = s["d"] / 2
        x0, y0 = (max(int(np.floor(c - r)) - 1, 0) for c in (s["x"], s["y"]))
        x1, y1 = (min(int(np.ceil(c + r)) + 1, SIZE) for c in (s["x"], s["y"]))
        a = coverage(s["shape"], s["x"], s["y"], s["d"], y1 - y0, x1 - x0, x0, y0)[:, :, None]
        win = img[y0:y1, x0:x1]
        img[y0:y1, x0:x1] = win * (1 - a) + np.array(COLOURS[s["colour"]], np.float64) * a
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


# ---- scenes

def _pick(rng, seq):
    return seq[int(rng.integers(len(seq)))]


def _place(rng, shape, colour, size, position):
    """A shape with its jitter drawn: centre within +-2 px of its cell, width within +-1 px.
    Rounded so a scene read back from JSON renders the same pixels."""
    cx, cy = cell_centre(position)
    jx, jy = rng.uniform(-JITTER_CENTRE, JITTER_CENTRE, 2)
    jd = rng.uniform(-JITTER_SIZE, JITTER_SIZE)
    return {"shape": shape, "colour": colour, "size": size, "position": position,
            "x": round(cx + float(jx), 2), "y": round(cy + float(jy), 2),
            "d": round(SIZES[size] + float(jd), 2)}


def canonical(scene):
    """The scene without its jitter: every shape at its cell's centre, at its size's nominal
    width. Its picture is a function of the caption alone."""
    shapes = []
    for s in scene["shapes"]:
        cx, cy = cell_centre(s["position"])
        shapes.append(dict(s, x=float(cx), y=float(cy), d=float(SIZES[s["size"]])))
    return {"background": scene["background"], "shapes": shapes}


def sample_scene(rng, split="train", n_shapes=None):
    """split "train": one or two shapes (n_shapes forces which), never a held-out pair.
    split "heldout": one shape whose colour-shape pair is held out.
    Two shapes are both small, in distinct cells, of distinct shapes and distinct colours, so
    every question about one of them has a single answer."""
    if split == "heldout":
        colour, shape = _pick(rng, HELD_OUT)
        shapes = [_place(rng, shape, colour, _pick(rng, list(SIZES)), _pick(rng, POSITIONS))]
    elif split == "train":
        n = n_shapes or 1 + int(rng.integers(2))
        if n not in (1, 2):
            raise ValueError(f"a scene has one or two shapes, not {n}")
        while True:  # rejection keeps the draw uniform over the allowed combinations
            kinds = [SHAPES[i] for i in rng.permutation(len(SHAPES))[:n]]
            colours = [list(COLOURS)[i] for i in rng.permutation(len(COLOURS))[:n]]
            if not any(pair in HELD_OUT for pair in zip(colours, kinds)):
                break
        cells = [POSITIONS[i] for i in rng.permutation(len(POSITIONS))[:n]]
        sizes = [_pick(rng, list(SIZES))] if n == 1 else ["small", "small"]
        shapes = [_place(rng, k, c, z, p) for k, c, z, p in zip(kinds, colours, sizes, cells)]
        shapes.sort(key=lambda s: POSITIONS.index(s["position"]))  # captions read in page order
    else:
        raise ValueError(f"split must be train or heldout, not {split!r}")
    backgrounds = [b for b in BACKGROUNDS if b not in {s["colour"] for s in shapes}]
    return {"background": _pick(rng, backgrounds), "shapes": shapes}


# ---- language

def _where(position):
    return "in the centre" if position == "centre" else f"at the {position}"


def caption(scene):
    """"a small red circle at the top left and a small blue square at the bottom right on a
    white background" """
    parts = [f"a {s['size']} {s['colour']} {s['shape']} {_where(s['position'])}"
             for s in scene["shapes"]]
    bg = scene["background"]
    return " and ".join(parts) + f" on {'an' if bg[0] in 'aeiou' else 'a'} {bg} background"


def _alt(words):
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_SHAPE_RE = (rf"a ({_alt(SIZES)}) ({_alt(COLOURS)}) ({_alt(SHAPES)}) "
             rf"(?:in the centre|at the ({_alt(p for p in POSITIONS if p != 'centre')}))")
_CAPTION_RE = re.compile(rf"^{_SHAPE_RE}(?: and {_SHAPE_RE})? on an? ({_alt(BACKGROUNDS)}) background$")


def parse_caption(text):
    """The scene spec a caption describes: {"background", "shapes": [{"size", "colour",
    "shape", "position"}]} (no jitter). Raises ValueError on text that is not a caption."""
    m = _CAPTION_RE.match(text.strip().lower().rstrip("."))
    if not m:
        raise ValueError(f"not a world caption: {text!r}")
    g = m.groups()
    shapes = [{"size": g[i], "colour": g[i + 1], "shape": g[i + 2], "position": g[i + 3] or "centre"}
              for i in (0, 4) if g[i]]
    return {"background": g[8], "shapes": shapes}


QUESTION_KINDS = ["colour", "shape", "position", "size", "count", "background"]


def questions(scene, rng):
    """Every question the scene answers unambiguously, as (question, answer) pairs, in an
    order shuffled by rng. Answers are short, lowercase, without a full stop."""
    shapes = scene["shapes"]
    qa = []
    for s in shapes:
        qa += [(f"what colour is the {s['shape']}?", s["colour"]),
               (f"what shape is the {s['colour']} shape?", s["shape"]),
               (f"where is the {s['shape']}?", s["position"]),
               (f"what size is the {s['shape']}?", s["size"])]
    if len(shapes) == 1:
        qa.append(("what shape is it?", shapes[0]["shape"]))
    qa += [("how many shapes are there?", ["one", "two"][len(shapes) - 1]),
           ("what colour is the background?", scene["background"])]
    return [qa[i] for i in rng.permutation(len(qa))]


def question_kind(question):
    """Which attribute a question asks about (one of QUESTION_KINDS)."""
    if question == "what colour is the background?":
        return "background"
    for prefix, kind in (("what colour", "colour"), ("what shape", "shape"), ("where", "position"),
                         ("what size", "size"), ("how many", "count")):
        if question.startswith(prefix):
            return kind
    raise ValueError(f"not a world question: {question!r}")


def example(seed, index, split="train", n_shapes=None):
    """Example `index` of the run `seed`: {"scene", "caption", "questions"}; render(scene)
    gives its picture."""
    rng = scene_rng(seed, index)
    scene = sample_scene(rng, split, n_shapes)
    return {"scene": scene, "caption": caption(scene), "questions": questions(scene, rng)}


def main():
    ap = argparse.ArgumentParser(description="Writes world pictures (DIR/0000.png ...) and "
                                 "DIR/scenes.jsonl (scene, caption, questions per line).")
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--split", choices=["train", "heldout"], default="train")
    ap.add_argument("--shapes", type=int, choices=[1, 2], help="force one or two shapes (train)")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    tmp = os.path.join(a.out, f"scenes.jsonl.tmp{os.getpid()}")
    with open(tmp, "w") as f:
        for i in range(a.count):
            ex = example(a.seed, i, a.split, a.shapes)
            name = f"{i:04d}.png"
            write_png(os.path.join(a.out, name), render(ex["scene"]))
            ex["questions"] = [list(q) for q in ex["questions"]]
            f.write(json.dumps({"file": name, **ex}) + "\n")
    os.replace(tmp, os.path.join(a.out, "scenes.jsonl"))


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""classify.py: reads a world picture back into its scene (background, shapes with colour,
shape, size and position) from pixels alone, deterministically, so generated pictures can be
scored. Meant to survive what a small VQ decoder does to a picture (soft edges, colours a
little off); it knows only the world's palette and geometry, never the caption.

  python3 tools/eval/classify.py IMAGE.png...            prints each picture's scene as JSON
  python3 tools/eval/classify.py --validate --seed 7 --count 2000"""
import argparse
import json
import os
import sys
from collections import deque

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "world"))
import world  # noqa: E402
from png import read_png  # noqa: E402

MIN_AREA = 8        # components smaller than this (pixels) are specks, not shapes
FG_ALPHA = 0.5      # a pixel belongs to a shape when at least half covered by it
CORE_ALPHA = 0.75   # pixels this covered are the shape's own colour, not an edge blend
SPLIT_SHARE = 0.2   # a second colour owning this share of a component's core is a second shape
# Templates are compared sharp and blurred, since decoders soften edges. More blur levels do
# worse: heavily blurred templates all look alike (measured on blur 1.5-2 px, noise 12-16).
TEMPLATE_BLURS = (0, 1.0)
SIZE_SPLIT = (world.SIZES["small"] + world.SIZES["large"]) / 2
CELL_SPLITS = ((world.CELLS[0] + world.CELLS[1]) / 2, (world.CELLS[1] + world.CELLS[2]) / 2)

SHAPE_NAMES = list(world.COLOURS)
SHAPE_RGB = np.array([world.COLOURS[c] for c in SHAPE_NAMES], np.float64)
BG_NAMES = list(world.BACKGROUNDS)
BG_RGB = np.array([world.BACKGROUNDS[c] for c in BG_NAMES], np.float64)


def _unit_area_and_centroid(shape, n=400):
    """Area (in units of half-width squared) and centroid of a shape, by dense sampling: what
    a shape of half-width r and centre c leaves as moments, so area and centroid fit r and c."""
    t = (np.arange(n) + 0.5) / n * 2 - 1
    hit = world.inside(shape, t[None, :], t[:, None])
    return hit.mean() * 4, (t[None, :] * hit).sum() / hit.sum(), (t[:, None] * hit).sum() / hit.sum()


UNIT = {s: _unit_area_and_centroid(s) for s in world.SHAPES}


def to_world_size(img):
    """The classifier works on 64x64: other sizes are box-averaged (integer factors) or
    sampled at the nearest pixel."""
    h, w, _ = img.shape
    n = world.SIZE
    if (h, w) == (n, n):
        return img
    if h % n == 0 and w % n == 0:
        return img.reshape(n, h // n, n, w // n, 3).mean(axis=(1, 3)).round().astype(np.uint8)
    ys = ((np.arange(n) + 0.5) * h / n).astype(int)
    xs = ((np.arange(n) + 0.5) * w / n).astype(int)
    return img[ys][:, xs]


def find_background(px):
    """The named colour most border pixels are nearest to, and the border's own median RGB of
    it (a decoder may shift colours: the measured one explains the picture better)."""
    border = np.concatenate([px[0], px[-1], px[1:-1, 0], px[1:-1, -1]])
    near = np.argmin(((border[:, None, :] - BG_RGB[None]) ** 2).sum(-1), axis=1)
    best = np.bincount(near, minlength=len(BG_NAMES)).argmax()
    return BG_NAMES[best], np.median(border[near == best], axis=0)


def blend_alpha(px, bg, colours):
    """Each pixel as bg*(1-a) + colour*a, the antialiasing model: for every candidate colour
    the best a (clipped to [0, 1]) and the distance left over. Returns (a, residual), both
    HxWxK."""
    d = colours - bg                      # K x 3
    rel = px[:, :, None, :] - bg          # H x W x 1 x 3
    a = np.clip((rel * d).sum(-1) / (d * d).sum(-1), 0, 1)
    res = np.sqrt(((rel - a[..., None] * d) ** 2).sum(-1))
    return a, res


def components(mask):
    """8-connected components of a boolean mask, as lists of (y, x), largest first."""
    seen = np.zeros_like(mask)
    h, w = mask.shape
    comps = []
    for y0, x0 in zip(*np.nonzero(mask)):
        if seen[y0, x0]:
            continue
        seen[y0, x0] = True
        queue, comp = deque([(y0, x0)]), []
        while queue:
            y, x = queue.popleft()
            comp.append((y, x))
            for ny in (y - 1, y, y + 1):
                for nx in (x - 1, x, x + 1):
                    if 0 <= ny < h and 0 <= nx < w and mask[ny, nx] and not seen[ny, nx]:
                        seen[ny, nx] = True
                        queue.append((ny, nx))
        comps.append(comp)
    return sorted(comps, key=len, reverse=True)


def gaussian_blur(x, sigma):
    """Separable gaussian blur (5 taps, edges repeated) over the first two axes."""
    if sigma <= 0:
        return x
    k = np.exp(-0.5 * (np.arange(-2, 3) / sigma) ** 2)
    k /= k.sum()
    for axis in (0, 1):
        pad = [(2, 2) if i == axis else (0, 0) for i in range(x.ndim)]
        xp = np.pad(x, pad, mode="edge")
        x = sum(k[i] * np.take(xp, np.arange(i, i + x.shape[axis]), axis=axis) for i in range(5))
    return x


def soft_iou(a, b):
    return np.minimum(a, b).sum() / max(np.maximum(a, b).sum(), 1e-9)


def sq_error(a, b):
    return ((a - b) ** 2).sum()


def fit_shape(soft):
    """Which shape explains a soft mask (coverage per pixel, 64x64) best: for each shape, the
    size and centre that give the mask's area and centroid, rendered (sharp and blurred) and
    compared by squared error. Moments, unlike a bounding box, are not moved by blur or a
    stray pixel; squared error, unlike IoU, is not diluted by noise around the shape.
    Returns (soft IoU of the winner, shape, cx, cy, width)."""
    area = soft.sum()
    ys, xs = np.nonzero(soft > 0)
    my, mx = (soft[ys, xs] * ys).sum() / area + 0.5, (soft[ys, xs] * xs).sum() / area + 0.5
    y0, y1, x0, x1 = ys.min() - 3, ys.max() + 4, xs.min() - 3, xs.max() + 4
    pad = 3  # the window may hang over the picture's edge: pad with zero coverage
    window = np.pad(soft, pad)[y0 + pad:y1 + pad, x0 + pad:x1 + pad]
    best = None
    for shape in world.SHAPES:
        unit_area, ux, uy = UNIT[shape]
        r = np.sqrt(area / unit_area)
        cx, cy = mx - ux * r, my - uy * r
        sharp = world.coverage(shape, cx, cy, 2 * r, y1 - y0, x1 - x0, x0, y0)
        for b in TEMPLATE_BLURS:
            tmpl = gaussian_blur(sharp, b)
            err = sq_error(tmpl, window)
            if best is None or err < best[0]:
                best = (err, soft_iou(tmpl, window), shape, cx, cy, 2 * r)
    return best[1:]


def position_name(x, y):
    col = int(x >= CELL_SPLITS[0]) + int(x >= CELL_SPLITS[1])
    row = int(y >= CELL_SPLITS[0]) + int(y >= CELL_SPLITS[1])
    return world.POSITIONS[row * 3 + col]


def classify(img):
    """img: HxWx3 uint8. Returns {"background", "count", "shapes": [{"colour", "shape",
    "size", "position", "x", "y", "d", "area", "score"}]}, shapes in page order: x, y
    the fitted centre, d the fitted width, area the coverage in pixels, score the soft IoU of
    the winning template (near 1: the picture looks like a world shape)."""
    px = to_world_size(np.asarray(img)[:, :, :3]).astype(np.float64)
    bg_name, bg = find_background(px)
    names = [c for c in SHAPE_NAMES if c != bg_name]
    rgb = np.array([world.COLOURS[c] for c in names], np.float64)
    a, res = blend_alpha(px, bg, rgb)
    label = res.argmin(-1)                 # the colour whose blend explains each pixel best
    alpha = np.take_along_axis(a, label[..., None], -1)[..., 0]
    fg = alpha >= FG_ALPHA

    # Shapes: connected foreground, split where two colours each own a real share of it (two
    # shapes a blur has joined); pixels of other colours (edge blends) go to the nearer part.
    parts = []
    for comp in components(fg):
        if len(comp) < MIN_AREA:
            break
        ys, xs = np.array(comp).T
        core = alpha[ys, xs] >= CORE_ALPHA
        counts = np.bincount(label[ys, xs][core], minlength=len(names))
        keep = np.nonzero(counts >= max(MIN_AREA, SPLIT_SHARE * core.sum()))[0]
        if len(keep) <= 1:
            parts.append((ys, xs))
            continue
        owner = keep[res[ys, xs][:, keep].argmin(-1)]
        parts += [(ys[owner == k], xs[owner == k]) for k in keep if (owner == k).sum() >= MIN_AREA]

    shapes = []
    for ys, xs in parts:
        core = alpha[ys, xs] >= CORE_ALPHA
        sel = core if core.sum() >= 4 else np.ones_like(core)
        med = np.median(px[ys[sel], xs[sel]], axis=0)
        ci = int(np.argmin(((rgb - med) ** 2).sum(-1)))
        # Coverage by this colour alone, over the part and its 2-pixel rim (the edge blends
        # below FG_ALPHA belong to the shape too), but not over any other part.
        own = np.zeros(fg.shape, bool)
        own[ys, xs] = True
        rim = own.copy()
        for _ in range(2):
            grown = rim.copy()
            grown[1:] |= rim[:-1]; grown[:-1] |= rim[1:]
            grown[:, 1:] |= rim[:, :-1]; grown[:, :-1] |= rim[:, 1:]
            rim = grown
        soft = np.where(rim & (own | ~fg), a[:, :, ci], 0)
        score, shape, cx, cy, d = fit_shape(soft)
        # Size from the fitted width: the extent of the half-covered pixels shrinks under blur
        # (a star's tips fade first).
        shapes.append({"colour": names[ci], "shape": shape,
                       "size": "small" if d < SIZE_SPLIT else "large",
                       "position": position_name(cx, cy),
                       "x": round(float(cx), 2), "y": round(float(cy), 2), "d": round(float(d), 2),
                       "area": round(float(soft.sum()), 1), "score": round(float(score), 3)})
    shapes.sort(key=lambda s: world.POSITIONS.index(s["position"]))
    return {"background": bg_name, "count": len(shapes), "shapes": shapes}


# ---- validation on the world's own pictures

ATTRS = ["colour", "shape", "size", "position"]


def degrade(img, rng, sigma=8.0, blur=1.0):
    """A gaussian blur of `blur` px, then gaussian noise of `sigma` levels: roughly what a
    small VQ decoder does to edges and flat colour."""
    x = gaussian_blur(img.astype(np.float64), blur) + rng.normal(0, sigma, img.shape)
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def compare(truth, pred):
    """Per truth shape, the predicted shape nearest its centre; returns ({attr: [ok...]},
    background ok, count ok, fully correct)."""
    got = {k: [] for k in ATTRS}
    for t in truth["shapes"]:
        p = min(pred["shapes"], key=lambda p: (p["x"] - t["x"]) ** 2 + (p["y"] - t["y"]) ** 2,
                default=None)
        for k in ATTRS:
            got[k].append(p is not None and p[k] == t[k])
    bg_ok = pred["background"] == truth["background"]
    count_ok = pred["count"] == len(truth["shapes"])
    return got, bg_ok, count_ok, bg_ok and count_ok and all(all(v) for v in got.values())


def validate(seed, count, noisy, sigma=8.0, blur=1.0, show_errors=0):
    tally = {k: [] for k in ATTRS + ["background", "count", "full"]}
    errors = 0
    for i in range(count):
        split = "heldout" if i % 4 == 3 else "train"
        scene = world.example(seed, i, split)["scene"]
        img = world.render(scene)
        if noisy:
            img = degrade(img, np.random.default_rng([seed, i, 1]), sigma, blur)
        pred = classify(img)
        got, bg_ok, count_ok, full = compare(scene, pred)
        for k in ATTRS:
            tally[k] += got[k]
        tally["background"].append(bg_ok)
        tally["count"].append(count_ok)
        tally["full"].append(full)
        if not full and errors < show_errors:
            errors += 1
            print(f"  miss {i}: {world.caption(scene)}\n    got {json.dumps(pred)}", file=sys.stderr)
    return {k: float(np.mean(v)) for k, v in tally.items()}


def main():
    ap = argparse.ArgumentParser(description="Classifies world pictures, or validates the "
                                 "classifier on the world's own pictures.")
    ap.add_argument("images", nargs="*", help="PNG files to classify (prints JSON per line)")
    ap.add_argument("--validate", action="store_true")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--count", type=int, default=2000)
    ap.add_argument("--min-clean", type=float, default=0.99, help="fully correct needed, clean")
    ap.add_argument("--min-noisy", type=float, default=0.97, help="fully correct needed, noisy")
    ap.add_argument("--sigma", type=float, default=8.0, help="noise of the noisy set, levels")
    ap.add_argument("--blur", type=float, default=1.0, help="blur of the noisy set, px")
    ap.add_argument("--show-errors", type=int, default=0, help="print up to N misses")
    a = ap.parse_args()
    if not a.validate:
        for path in a.images:
            print(json.dumps({"file": path, **classify(read_png(path))}))
        return 0
    rc = 0
    cols = ATTRS + ["background", "count", "full"]
    print(f"{'set':<24}" + "".join(f"{c:>11}" for c in cols))
    for noisy, need in ((False, a.min_clean), (True, a.min_noisy)):
        r = validate(a.seed, a.count, noisy, a.sigma, a.blur, a.show_errors)
        name = f"blur {a.blur:g}px + noise {a.sigma:g}" if noisy else "clean"
        print(f"{name:<24}" + "".join(f"{100 * r[c]:>10.2f}%" for c in cols))
        if r["full"] < need:
            print(f"classify: {name}: fully correct {100 * r['full']:.2f}% is below "
                  f"{100 * need:.0f}%", file=sys.stderr)
            rc = 1
    return rc


if __name__ == "__main__":
    sys.exit(main())

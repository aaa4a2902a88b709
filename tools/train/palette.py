"""The image tokenizer's encoder (training-only): each 4x4-pixel patch of a world picture as
one code, the pair (colour, coverage mask), read exactly from the pixels.

World pictures are flat shapes blended over a flat background by their coverage (world.render),
so every patch is one palette colour, or a shape colour over the background at 17 coverage
levels per pixel. A code names the patch's own colour (the shape's, or the background's for a
flat patch) and its coverage pattern; the background behind an edge is not in the code: the
decoder takes it from the flat patches around. Every code is thus a function of the caption
(for world.canonical pictures), and its two halves are learnt apart: the language model's
gen_embed and gen_head and the decoder's codebook are tables over (colour, mask) made as a
colour row plus a mask row (factored below), so a colour-shape pair never seen in training
still has its codes.

The masks are the distinct coverage patterns of the training pictures, most frequent first,
with the full patch (a flat colour) as mask 0. Code = colour * n_masks + mask."""
import numpy as np
import torch
import torch.nn as nn

from data import world

PATCH = 4
LEVELS = 16                     # coverage levels: world.SUPERSAMPLE ** 2 samples per pixel
COLOURS = list(world.BACKGROUNDS)
PALETTE = np.array([world.BACKGROUNDS[c] for c in COLOURS], np.float64)   # (11, 3)
SHAPE_COLOURS = np.array([COLOURS.index(c) for c in world.COLOURS])


def patches(imgs):
    """(n, S, S, 3) uint8 -> (n, G*G, P*P, 3) float, patches in raster order."""
    n, S = len(imgs), imgs.shape[1]
    G = S // PATCH
    x = np.asarray(imgs, np.float64).reshape(n, G, PATCH, G, PATCH, 3)
    return x.transpose(0, 1, 3, 2, 4, 5).reshape(n, G * G, PATCH * PATCH, 3)


def analyse(imgs):
    """Each patch's colour index (n, G*G) and coverage levels 0..16 (n, G*G, 16): a flat patch
    is its colour at full coverage; any other is the shape colour that explains it best over
    the picture's background (its corner pixel, never covered by a shape)."""
    x = patches(imgs)
    bg = np.argmin(((PALETTE[None] - np.asarray(imgs[:, 0, 0], np.float64)[:, None]) ** 2).sum(-1), 1)
    b = PALETTE[bg][:, None, None, :]                                    # (n, 1, 1, 3)
    f = PALETTE[SHAPE_COLOURS][None, None, :, None, :]                   # (1, 1, 8, 1, 3)
    d = f - b[:, :, None]                                                # (n, 1, 8, 1, 3)
    a = np.clip(((x[:, :, None] - b[:, :, None]) * d).sum(-1) / (d * d).sum(-1).clip(1), 0, 1)
    err = ((b[:, :, None] + a[..., None] * d - x[:, :, None]) ** 2).sum((-1, -2))  # (n, GG, 8)
    k = err.argmin(-1)
    colour = SHAPE_COLOURS[k]
    levels = np.rint(np.take_along_axis(a, k[..., None, None], 2)[:, :, 0] * LEVELS).astype(np.int64)
    # flat patches: one palette colour in every pixel
    flat = (x == x[:, :, :1]).all((-1, -2))
    flat_colour = np.argmin(((x[:, :, 0, None, :] - PALETTE) ** 2).sum(-1), -1)
    empty = levels.max(-1) == 0
    colour = np.where(flat, flat_colour, np.where(empty, bg[:, None], colour))
    levels[flat | empty] = LEVELS
    return colour, levels


class Palette:
    def __init__(self, masks):
        self.masks = np.asarray(masks, np.int64)          # (M, 16), row 0 the full patch
        self.index = {m.tobytes(): i for i, m in enumerate(self.masks)}

    @classmethod
    def learn(cls, imgs):
        """The coverage patterns of these pictures, most frequent first after the full one."""
        counts = {}
        for i in range(0, len(imgs), 500):
            _, levels = analyse(imgs[i:i + 500])
            u, c = np.unique(levels.reshape(-1, PATCH * PATCH), axis=0, return_counts=True)
            for m, k in zip(u, c):
                counts[m.tobytes()] = counts.get(m.tobytes(), 0) + int(k)
        full = np.full(PATCH * PATCH, LEVELS, np.int64).tobytes()
        order = [full] + sorted((m for m in counts if m != full), key=lambda m: -counts[m])
        return cls([np.frombuffer(m, np.int64) for m in order])

    def decides(self, target, prev):
        """The codes where the caption decides the picture: the first, and every step into or
        out of a shape (a change of colour)."""
        return (prev < 0) | (target // self.n_masks != prev // self.n_masks)

    @property
    def n_masks(self):
        return len(self.masks)

    @property
    def size(self):
        return len(COLOURS) * self.n_masks

    def encode(self, imgs):
        """(n, S, S, 3) uint8 -> codes (n, G*G) and how many patches took their nearest mask
        (a pattern not in the table, e.g. of a jittered shape)."""
        out, missed = [], 0
        for i in range(0, len(imgs), 500):
            colour, levels = analyse(imgs[i:i + 500])
            flat = levels.reshape(-1, PATCH * PATCH)
            m = np.array([self.index.get(r.tobytes(), -1) for r in flat])
            miss = m < 0
            if miss.any():
                d = ((flat[miss, None, :] - self.masks[None]) ** 2).sum(-1)
                m[miss] = d.argmin(-1)
                missed += int(miss.sum())
            out.append(colour * self.n_masks + m.reshape(colour.shape))
        return np.concatenate(out), missed


class Factored(nn.Module):
    """A parametrisation (torch.nn.utils.parametrize) of a table with one row per code, or of
    a vector with one entry per code, as a colour row plus a mask row. Exported as the plain
    table it computes."""
    def __init__(self, n_colours, n_masks, dim, scale):
        super().__init__()
        shape = (lambda n: (n,)) if dim is None else (lambda n: (n, dim))
        self.colour = nn.Parameter(torch.randn(shape(n_colours)) * scale)
        self.mask = nn.Parameter(torch.randn(shape(n_masks)) * scale)

    def forward(self, _):
        t = self.colour[:, None] + self.mask[None, :]
        return t.reshape(-1, *t.shape[2:])


def factor(module, name, palette, scale=0.02):
    """Makes module.name (rows or entries per code) a colour row plus a mask row."""
    w = getattr(module, name)
    f = Factored(len(COLOURS), palette.n_masks, None if w.dim() == 1 else w.shape[1], scale)
    torch.nn.utils.parametrize.register_parametrization(module, name, f)

"""Object codes (training-only encoder): a canonical world picture as its background's code in
every 4x4-pixel patch, except the patch under each shape's centre, which holds one code naming
the whole shape: its colour, kind and size. The decoder draws the whole shape around that
patch; the language model decides a picture in one code per shape (palette codes spread the
decision over a shape's first edge patch and left the rest to continuing the rows above).

Codes: 0..10 the backgrounds (world.BACKGROUNDS order), then 11 + (colour * 5 + shape) * 2 +
size for the shapes. Tables over codes (the codebook, gen_embed, gen_head) are made as sums of
a colour row and a kind row (background, or shape plus size), so a colour-shape pair never
seen in training still has its codes."""
import numpy as np
import torch
import torch.nn as nn

from data import world
from palette import PATCH

BACKS = list(world.BACKGROUNDS)          # the 8 shape colours first, in world.COLOURS order
SHAPES, SIZES = world.SHAPES, list(world.SIZES)
N_BACK = len(BACKS)
SIZE = N_BACK + len(world.COLOURS) * len(SHAPES) * len(SIZES)


def object_code(colour, shape, size):
    return N_BACK + (BACKS.index(colour) * len(SHAPES) + SHAPES.index(shape)) * len(SIZES) + \
        SIZES.index(size)


def encode(scene):
    """A canonical scene's codes, (G*G,) in raster order."""
    G = world.SIZE // PATCH
    grid = np.full((G, G), BACKS.index(scene["background"]), np.int64)
    for s in scene["shapes"]:
        cx, cy = world.cell_centre(s["position"])
        grid[cy // PATCH, cx // PATCH] = object_code(s["colour"], s["shape"], s["size"])
    return grid.reshape(-1)


def decides(target, prev):
    """The codes where the caption decides the picture: the first (the background) and every
    shape's."""
    return (prev < 0) | (target >= N_BACK)


class Factored(nn.Module):
    """A parametrisation of a table with one row (or entry) per code as a colour row plus a
    kind row: the background's for codes 0..10, a shape's plus a size's for the rest."""
    def __init__(self, dim, scale):
        super().__init__()
        shape = (lambda n: (n,)) if dim is None else (lambda n: (n, dim))
        self.colour = nn.Parameter(torch.randn(shape(N_BACK)) * scale)
        self.back = nn.Parameter(torch.randn(shape(1)) * scale)
        self.shape = nn.Parameter(torch.randn(shape(len(SHAPES))) * scale)
        self.size = nn.Parameter(torch.randn(shape(len(SIZES))) * scale)

    def forward(self, _):
        backs = self.colour + self.back
        kinds = (self.shape[:, None] + self.size[None, :]).flatten(0, 1)      # (10, ...)
        objs = self.colour[:len(world.COLOURS), None] + kinds[None]            # (8, 10, ...)
        return torch.cat([backs, objs.flatten(0, 1)])


def factor(module, name, scale=0.02):
    w = getattr(module, name)
    torch.nn.utils.parametrize.register_parametrization(
        module, name, Factored(None if w.dim() == 1 else w.shape[1], scale))

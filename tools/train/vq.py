"""The VQ image tokenizer's decoder side, structured as Janus' VQ-16 model
(janus/models/vq_model.py): an L2-normalised codebook and the decoder vkseek runs (conv_in; mid
res/attn/res; per level, lowest resolution first, num_res_blocks + 1 res blocks with attention
at level 0 and a nearest-2x upsample + conv between levels; GroupNorm(32), swish, conv_out).
Parameter names are Janus' (decoder.conv_blocks.N.res.M.conv1, quantize.embedding, ...)."""
import torch
import torch.nn as nn
import torch.nn.functional as F


def norm(c):
    return nn.GroupNorm(32, c, eps=1e-6, affine=True)


class Res(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.norm1, self.conv1 = norm(cin), nn.Conv2d(cin, cout, 3, padding=1)
        self.norm2, self.conv2 = norm(cout), nn.Conv2d(cout, cout, 3, padding=1)
        if cin != cout:
            self.nin_shortcut = nn.Conv2d(cin, cout, 1)

    def forward(self, x):
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(F.silu(self.norm2(h)))
        return (self.nin_shortcut(x) if hasattr(self, "nin_shortcut") else x) + h


class Attn(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.norm = norm(c)
        self.q, self.k, self.v, self.proj_out = (nn.Conv2d(c, c, 1) for _ in range(4))

    def forward(self, x):
        B, C, H, W = x.shape
        h = self.norm(x)
        q, k, v = (f(h).flatten(2) for f in (self.q, self.k, self.v))       # (B, C, HW)
        w = torch.softmax(q.transpose(1, 2) @ k / C ** 0.5, -1)            # (B, HW, HW)
        return x + self.proj_out((v @ w.transpose(1, 2)).view(B, C, H, W))


class Level(nn.Module):
    pass


class Decoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        ch, mult = c["ch"], c["decoder_ch_mult"]
        cin = ch * mult[-1]
        self.conv_in = nn.Conv2d(c["z_channels"], cin, 3, padding=1)
        self.mid = nn.ModuleList([Res(cin, cin), Attn(cin), Res(cin, cin)])
        self.conv_blocks = nn.ModuleList()
        for i in range(len(mult)):
            L = Level()
            cout = ch * mult[len(mult) - 1 - i]
            L.res = nn.ModuleList()
            for _ in range(c["num_res_blocks"] + 1):
                L.res.append(Res(cin, cout))
                cin = cout
            if i == 0:
                L.attn = nn.ModuleList(Attn(cin) for _ in range(c["num_res_blocks"] + 1))
            if i != len(mult) - 1:
                L.upsample = nn.Module()
                L.upsample.conv = nn.Conv2d(cin, cin, 3, padding=1)
            self.conv_blocks.append(L)
        self.norm_out = norm(cin)
        self.conv_out = nn.Conv2d(cin, 3, 3, padding=1)

    def forward(self, z):
        h = self.conv_in(z)
        for m in self.mid:
            h = m(h)
        for L in self.conv_blocks:
            for j, r in enumerate(L.res):
                h = r(h)
                if hasattr(L, "attn"):
                    h = L.attn[j](h)
            if hasattr(L, "upsample"):
                h = L.upsample.conv(F.interpolate(h, scale_factor=2.0, mode="nearest"))
        return self.conv_out(F.silu(self.norm_out(h)))


class Quantizer(nn.Module):
    """The codebook: L2-normalised rows, looked up by code (palette.py's encoder picks them)."""
    def __init__(self, c):
        super().__init__()
        self.embedding = nn.Embedding(c["codebook_size"], c["codebook_embed_dim"])

    def codebook(self):
        return F.normalize(self.embedding.weight, dim=-1)


class VQModel(nn.Module):
    """The generation side of the VQ tokenizer: codebook, post_quant_conv and decoder."""
    def __init__(self, c):
        super().__init__()
        self.decoder = Decoder(c)
        self.quantize = Quantizer(c)
        self.post_quant_conv = nn.Conv2d(c["codebook_embed_dim"], c["z_channels"], 1)

    def decode_codes(self, idx):
        """codes (B, H, W) -> pixels (B, 3, H * 4, W * 4) in [-1, 1]."""
        zq = self.quantize.codebook()[idx].permute(0, 3, 1, 2)
        return self.decoder(self.post_quant_conv(zq))

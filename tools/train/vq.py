"""The VQ image tokenizer, structured as Janus' VQ-16 model (janus/models/vq_model.py): a
convolutional encoder, an L2-normalised codebook, and the decoder vkseek runs (conv_in; mid
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


class Encoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        ch, mult = c["ch"], c["encoder_ch_mult"]
        self.conv_in = nn.Conv2d(3, ch, 3, padding=1)
        self.conv_blocks = nn.ModuleList()
        cin = ch
        for i, m in enumerate(mult):
            L = Level()
            L.res = nn.ModuleList()
            for _ in range(c["num_res_blocks"]):
                L.res.append(Res(cin, ch * m))
                cin = ch * m
            if i == len(mult) - 1:
                L.attn = nn.ModuleList(Attn(cin) for _ in range(c["num_res_blocks"]))
            else:
                L.downsample = nn.Module()
                L.downsample.conv = nn.Conv2d(cin, cin, 3, stride=2)
            self.conv_blocks.append(L)
        self.mid = nn.ModuleList([Res(cin, cin), Attn(cin), Res(cin, cin)])
        self.norm_out = norm(cin)
        self.conv_out = nn.Conv2d(cin, c["z_channels"], 3, padding=1)

    def forward(self, x):
        h = self.conv_in(x)
        for L in self.conv_blocks:
            for j, r in enumerate(L.res):
                h = r(h)
                if hasattr(L, "attn"):
                    h = L.attn[j](h)
            if hasattr(L, "downsample"):
                h = L.downsample.conv(F.pad(h, (0, 1, 0, 1)))
        for m in self.mid:
            h = m(h)
        return self.conv_out(F.silu(self.norm_out(h)))


class PatchEncoder(nn.Module):
    """encoder_patch (training-only, vkseek's own): each code is a function of its own patch's
    pixels alone (a patchifying conv, then 1x1 convs), so equal patches get equal codes
    wherever they are: one code per flat colour, and no code carries what is around it,
    which the language model could not predict."""
    def __init__(self, c):
        super().__init__()
        W, P = c["ch"] * c["encoder_ch_mult"][-1] * 4, 2 ** (len(c["encoder_ch_mult"]) - 1)
        self.conv_in = nn.Conv2d(3, W, P, stride=P)
        self.mid = nn.ModuleList([nn.Conv2d(W, W, 1), nn.Conv2d(W, W, 1)])
        self.conv_out = nn.Conv2d(W, c["z_channels"], 1)

    def forward(self, x):
        h = self.conv_in(x)
        for m in self.mid:
            h = m(F.silu(h))
        return self.conv_out(F.silu(h))


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
    def __init__(self, c):
        super().__init__()
        self.embedding = nn.Embedding(c["codebook_size"], c["codebook_embed_dim"])
        nn.init.uniform_(self.embedding.weight, -1.0, 1.0)

    def codebook(self):
        return F.normalize(self.embedding.weight, dim=-1)

    def forward(self, z):
        """z (B, E, H, W) -> straight-through z_q, codes (B, H, W), codebook and commitment loss."""
        z = F.normalize(z.permute(0, 2, 3, 1), dim=-1)
        cb = self.codebook()
        idx = (z @ cb.t()).argmax(-1)                    # nearest on the unit sphere
        zq = cb[idx]
        loss = F.mse_loss(zq, z.detach()) + 0.25 * F.mse_loss(z, zq.detach())
        zq = z + (zq - z).detach()
        return zq.permute(0, 3, 1, 2), idx, loss


class VQModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.encoder = PatchEncoder(c) if c.get("encoder_patch") else Encoder(c)
        self.decoder = Decoder(c)
        self.quantize = Quantizer(c)
        self.quant_conv = nn.Conv2d(c["z_channels"], c["codebook_embed_dim"], 1)
        self.post_quant_conv = nn.Conv2d(c["codebook_embed_dim"], c["z_channels"], 1)

    def encode(self, x):
        return self.quantize(self.quant_conv(self.encoder(x)))

    def decode_codes(self, idx):
        zq = self.quantize.codebook()[idx].permute(0, 3, 1, 2)
        return self.decoder(self.post_quant_conv(zq))

    def forward(self, x):
        zq, idx, qloss = self.encode(x)
        return self.decoder(self.post_quant_conv(zq)), idx, qloss

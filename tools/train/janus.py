"""The Janus-Pro composition in PyTorch around the DeepSeek-V3 stack: a SigLIP-style ViT
(timm names: patch_embed, pos_embed, blocks.N.{norm1,attn.qkv,attn.proj,norm2,mlp.fc1,mlp.fc2},
norm) and an mlp_gelu aligner for understanding; gen_embed, gen_aligner and gen_head
(Linear, GELU, Linear) for generation; the VQ model's decoder turns codes into pixels.
The state dict carries Janus' official names (language_model.*, vision_model.vision_tower.*,
aligner.layers.N, gen_*)."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from deepseek_v3 import DeepseekV3ForCausalLM
from vq import VQModel

TEXT, VISION, CODE = 0, 1, 2     # what each sequence position holds


class Block(nn.Module):
    def __init__(self, W, H, mlp):
        super().__init__()
        self.H = H
        self.norm1, self.norm2 = nn.LayerNorm(W, eps=1e-6), nn.LayerNorm(W, eps=1e-6)
        self.attn = nn.Module()
        self.attn.qkv, self.attn.proj = nn.Linear(W, 3 * W), nn.Linear(W, W)
        self.mlp = nn.Module()
        self.mlp.fc1, self.mlp.fc2 = nn.Linear(W, mlp), nn.Linear(mlp, W)

    def forward(self, x):
        B, N, W = x.shape
        q, k, v = self.attn.qkv(self.norm1(x)).view(B, N, 3, self.H, W // self.H).permute(2, 0, 3, 1, 4)
        a = torch.softmax(q @ k.transpose(-1, -2) / (W // self.H) ** 0.5, -1) @ v
        x = x + self.attn.proj(a.transpose(1, 2).reshape(B, N, W))
        return x + self.mlp.fc2(F.gelu(self.mlp.fc1(self.norm2(x))))


class VisionTower(nn.Module):
    def __init__(self, c):
        super().__init__()
        W, p = c["width"], c["patch_size"]
        self.patch_embed = nn.Module()
        self.patch_embed.proj = nn.Conv2d(3, W, p, stride=p)
        self.pos_embed = nn.Parameter(torch.randn(1, (c["image_size"] // p) ** 2, W) * 0.02)
        self.blocks = nn.ModuleList(Block(W, c["heads"], int(W * c["mlp_ratio"]))
                                    for _ in range(c["layers"]))
        self.norm = nn.LayerNorm(W, eps=1e-6)

    def forward(self, pixels):
        x = self.patch_embed.proj(pixels).flatten(2).transpose(1, 2) + self.pos_embed
        for b in self.blocks:
            x = b(x)
        return self.norm(x)


def mlp_gelu(din, d, depth=2):
    layers = [nn.Linear(din, d)]
    for _ in range(depth - 1):
        layers += [nn.GELU(), nn.Linear(d, d)]
    m = nn.Module()
    m.layers = nn.Sequential(*layers)
    return m


class Janus(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        lc, vc, gv = cfg["language_config"], cfg["vision_config"]["params"], cfg["gen_vision_config"]["params"]
        D = lc["hidden_size"]
        self.language_model = DeepseekV3ForCausalLM(lc)
        self.vision_model = nn.Module()
        self.vision_model.vision_tower = VisionTower(vc)
        self.aligner = mlp_gelu(vc["width"], D)
        self.gen_vision_model = VQModel(gv)
        self.gen_embed = nn.Embedding(gv["codebook_size"], gv["codebook_embed_dim"])
        self.gen_aligner = mlp_gelu(gv["codebook_embed_dim"], D)
        hc = cfg["gen_head_config"]["params"]
        self.gen_head = nn.Module()
        self.gen_head.output_mlp_projector = nn.Linear(D, hc["image_token_embed"])
        self.gen_head.vision_head = nn.Linear(hc["image_token_embed"], hc["image_token_size"])

    def image_logits(self, h):
        return self.gen_head.vision_head(F.gelu(self.gen_head.output_mlp_projector(h)))

    def forward(self, ids, kind, codes, pixels, vision=None):
        """ids, kind, codes: (B, T) long; pixels (n, 3, S, S) for the VISION positions in order
        (or vision, the tower's output for them). Returns the final hidden states (B, T, D)."""
        lm = self.language_model
        emb = lm.model.embed_tokens(ids)
        if (kind == CODE).any():
            emb = emb.masked_scatter((kind == CODE)[..., None],
                                     self.gen_aligner.layers(self.gen_embed(codes[kind == CODE])))
        if vision is None and pixels is not None and len(pixels):
            vision = self.vision_model.vision_tower(pixels)
        if vision is not None:
            feats = self.aligner.layers(vision)
            emb = emb.masked_scatter((kind == VISION)[..., None], feats.reshape(-1, feats.shape[-1]))
        return lm.model(emb)

"""The DeepSeek-V3 language stack in PyTorch, for training: multi-head latent attention
(compressed q and kv, a shared roped key), then a dense SwiGLU layer or a mixture of experts
with sigmoid scores, group-limited top-k selection through a load-balancing bias (DeepSeek-V3's
auxiliary-loss-free balancing), normalised and scaled weights, and a shared expert.
Parameter names are Hugging Face's (model.layers.N.self_attn.q_a_proj, ...), so the state dict
is a DeepSeek-V3 checkpoint."""
import math
import torch
import torch.nn as nn
import torch.nn.functional as F


class RMSNorm(nn.Module):
    def __init__(self, n, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope(x, pos, theta):
    """Rotates pairs (x[2i], x[2i+1]) by pos * theta^(-2i/d) (DeepSeek's interleaved layout)."""
    d = x.shape[-1]
    inv = theta ** (-torch.arange(0, d, 2, dtype=torch.float32) / d)
    ang = pos[:, None].float() * inv[None, :]                 # (T, d/2)
    cos, sin = ang.cos()[:, None, :], ang.sin()[:, None, :]   # (T, 1, d/2): heads broadcast
    a, b = x[..., 0::2], x[..., 1::2]
    return torch.stack((a * cos - b * sin, a * sin + b * cos), -1).flatten(-2)


class MLA(nn.Module):
    def __init__(self, c):
        super().__init__()
        D, H = c["hidden_size"], c["num_attention_heads"]
        self.H, self.P, self.R = H, c["qk_nope_head_dim"], c["qk_rope_head_dim"]
        self.r, self.Vd, self.theta = c["kv_lora_rank"], c["v_head_dim"], c["rope_theta"]
        self.q_a_proj = nn.Linear(D, c["q_lora_rank"], bias=False)
        self.q_a_layernorm = RMSNorm(c["q_lora_rank"], c["rms_norm_eps"])
        self.q_b_proj = nn.Linear(c["q_lora_rank"], H * (self.P + self.R), bias=False)
        self.kv_a_proj_with_mqa = nn.Linear(D, self.r + self.R, bias=False)
        self.kv_a_layernorm = RMSNorm(self.r, c["rms_norm_eps"])
        self.kv_b_proj = nn.Linear(self.r, H * (self.P + self.Vd), bias=False)
        self.o_proj = nn.Linear(H * self.Vd, D, bias=False)

    def forward(self, x, pos, mask):
        B, T, _ = x.shape
        H, P, R = self.H, self.P, self.R
        # q = q_b(norm(q_a(x))): per head P nope dims, then R rope dims
        q = self.q_b_proj(self.q_a_layernorm(self.q_a_proj(x))).view(B, T, H, P + R)
        q_nope, q_pe = q.split([P, R], -1)
        # latent c = norm(kv_a(x)[:r]); one roped key tail shared by all heads
        kv = self.kv_a_proj_with_mqa(x)
        c, k_pe = kv.split([self.r, R], -1)
        k_nope, v = self.kv_b_proj(self.kv_a_layernorm(c)).view(B, T, H, P + self.Vd).split([P, self.Vd], -1)
        q = torch.cat((q_nope, rope(q_pe, pos, self.theta)), -1)
        k_pe = rope(k_pe.unsqueeze(2), pos, self.theta).expand(B, T, H, R)
        k = torch.cat((k_nope, k_pe), -1)
        att = torch.einsum("bthd,bshd->bhts", q, k) / math.sqrt(P + R)
        att = att.masked_fill(mask, float("-inf")).softmax(-1)
        o = torch.einsum("bhts,bshd->bthd", att, v).reshape(B, T, H * self.Vd)
        return self.o_proj(o)


class SwiGLU(nn.Module):
    def __init__(self, D, F_):
        super().__init__()
        self.gate_proj = nn.Linear(D, F_, bias=False)
        self.up_proj = nn.Linear(D, F_, bias=False)
        self.down_proj = nn.Linear(F_, D, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Gate(nn.Module):
    """Router: sigmoid scores; the bias steers selection only (never the weights)."""
    def __init__(self, c):
        super().__init__()
        E = c["n_routed_experts"]
        self.weight = nn.Parameter(torch.empty(E, c["hidden_size"]))
        nn.init.normal_(self.weight, std=0.02)
        self.register_buffer("e_score_correction_bias", torch.zeros(E))
        self.k, self.G, self.topk_group = c["num_experts_per_tok"], c["n_group"], c["topk_group"]
        self.norm, self.scale = c["norm_topk_prob"], c["routed_scaling_factor"]

    def forward(self, x):
        s = torch.sigmoid(x @ self.weight.t())                       # (N, E)
        sel = (s + self.e_score_correction_bias).detach()
        N, E = sel.shape
        if self.G > 1:
            # keep the topk_group groups whose two best experts score highest
            g = sel.view(N, self.G, E // self.G).topk(2, -1).values.sum(-1)
            keep = torch.zeros_like(g).scatter_(1, g.topk(self.topk_group, -1).indices, 1.0)
            sel = sel.masked_fill(keep.repeat_interleave(E // self.G, 1) == 0, float("-inf"))
        idx = sel.topk(self.k, -1).indices                           # (N, k)
        w = s.gather(1, idx)
        if self.norm:
            w = w / (w.sum(-1, keepdim=True) + 1e-20)
        return idx, w * self.scale


class MoE(nn.Module):
    def __init__(self, c):
        super().__init__()
        D, F_ = c["hidden_size"], c["moe_intermediate_size"]
        self.gate = Gate(c)
        self.experts = nn.ModuleList(SwiGLU(D, F_) for _ in range(c["n_routed_experts"]))
        self.shared_experts = SwiGLU(D, F_ * c["n_shared_experts"])
        self.load = None                                             # tokens per expert, last step

    def forward(self, x):
        shape = x.shape
        x = x.reshape(-1, shape[-1])
        idx, w = self.gate(x)
        y = self.shared_experts(x)
        self.load = torch.bincount(idx.flatten(), minlength=len(self.experts))
        for e, expert in enumerate(self.experts):
            tok, slot = (idx == e).nonzero(as_tuple=True)
            if len(tok):
                y = y.index_add(0, tok, expert(x[tok]) * w[tok, slot, None])
        return y.view(shape)


class Layer(nn.Module):
    def __init__(self, c, i):
        super().__init__()
        self.input_layernorm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        self.self_attn = MLA(c)
        self.post_attention_layernorm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])
        moe = c["n_routed_experts"] and i >= c["first_k_dense_replace"] and \
            (i - c["first_k_dense_replace"]) % c["moe_layer_freq"] == 0
        self.mlp = MoE(c) if moe else SwiGLU(c["hidden_size"], c["intermediate_size"])

    def forward(self, x, pos, mask):
        x = x + self.self_attn(self.input_layernorm(x), pos, mask)
        return x + self.mlp(self.post_attention_layernorm(x))


class Model(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embed_tokens = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.layers = nn.ModuleList(Layer(c, i) for i in range(c["num_hidden_layers"]))
        self.norm = RMSNorm(c["hidden_size"], c["rms_norm_eps"])

    def forward(self, emb):
        T = emb.shape[1]
        pos = torch.arange(T)
        mask = torch.ones(T, T, dtype=torch.bool).triu(1)
        x = emb
        for layer in self.layers:
            x = layer(x, pos, mask)
        return self.norm(x)


class DeepseekV3ForCausalLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.model = Model(c)
        self.lm_head = nn.Linear(c["hidden_size"], c["vocab_size"], bias=False)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, std=0.02)
            elif isinstance(m, nn.Embedding):
                nn.init.normal_(m.weight, std=0.02)

    def moe_layers(self):
        return [l.mlp for l in self.model.layers if isinstance(l.mlp, MoE)]

    def balance(self, rate):
        """DeepSeek-V3's bias update: raise the bias of under-loaded experts, lower the rest."""
        for m in self.moe_layers():
            load = m.load.float()
            m.gate.e_score_correction_bias += rate * torch.sign(load.mean() - load)

"""Training sequences in exactly the text vkseek renders at inference (text/chat.c's Janus
conversation, cli/run.c's image expansion, cli/generate.c's generation prompt):
  generation:    BOS "<|User|>: {caption}\n\n<|Assistant|>:" <begin_of_image> code*N
  understanding: BOS "{system}\n\n<|User|>: " <begin_of_image> <image_placeholder>*P
                 <end_of_image> "\n{question}\n\n<|Assistant|>:" " {answer}" EOS, then
                 further turns "<|User|>: {question}\n\n<|Assistant|>:" " {answer}" EOS
  plain text:    BOS "{caption}" EOS
Each sample is (ids, kind, codes, target_text, target_code) lists; -100 marks no loss."""
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "world"))
import world  # noqa: E402
from bpe import BOS, EOS, PAD  # noqa: E402
from janus import TEXT, VISION, CODE  # noqa: E402

SYSTEM = ("You are a helpful language and vision assistant. You are able to understand the "
          "visual content that the user provides, and assist the user with a variety of tasks "
          "using natural language.")
DESCRIBE = "describe the picture."   # answered with the picture's caption
SPECIALS = ["<image_placeholder>", "<begin_of_image>", "<end_of_image>", "<|User|>", "<|Assistant|>"]


def corpus(n, seed):
    """Texts the tokenizer learns its merges from: every phrase the model reads or writes."""
    out = [SYSTEM, "<|User|>: ", "\n\n<|Assistant|>:", DESCRIBE]
    for i in range(n):
        e = world.example(seed, i)
        out.append(e["caption"])
        for q, a in e["questions"]:
            out += [q, " " + a]
    return out


class Builder:
    def __init__(self, tok, n_patches):
        self.tok, self.P = tok, n_patches
        self.bos, self.eos, self.pad = tok.id(BOS), tok.id(EOS), tok.id(PAD)
        self.boi, self.eoi = tok.id("<begin_of_image>"), tok.id("<end_of_image>")
        self.ph = tok.id("<image_placeholder>")

    def generation(self, caption, codes, drop):
        """drop: the caption replaced by pads (the unconditional row of classifier-free
        guidance, exactly as vkseek builds it)."""
        ids = [self.bos] + self.tok.encode(f"<|User|>: {caption}\n\n<|Assistant|>:") + [self.boi]
        if drop:
            ids = [ids[0]] + [self.pad] * (len(ids) - 2) + [ids[-1]]
        n = len(ids)
        codes = [int(c) for c in codes]
        ids += [self.pad] * len(codes)
        kind = [TEXT] * n + [CODE] * len(codes)
        code_in = [0] * n + codes
        # the hidden state at <begin_of_image> predicts code 0, at code i code i+1
        t_code = [-100] * (n - 1) + codes + [-100]
        return ids, kind, code_in, [-100] * len(ids), t_code

    def understanding(self, qa):
        """One picture, then a conversation of (question, answer) turns about it."""
        head = [self.bos] + self.tok.encode(f"{SYSTEM}\n\n<|User|>: ")
        ids = head + [self.boi] + [self.ph] * self.P + [self.eoi]
        kind = [TEXT] * (len(head) + 1) + [VISION] * self.P + [TEXT]
        tgt = [-100] * len(ids)
        for i, (question, answer) in enumerate(qa):
            ask = self.tok.encode(("\n" if i == 0 else "<|User|>: ") + f"{question}\n\n<|Assistant|>:")
            ans = self.tok.encode(f" {answer}") + [self.eos]
            ids += ask + ans
            kind += [TEXT] * (len(ask) + len(ans))
            # the position before each answer token predicts it
            tgt += [-100] * (len(ask) - 1) + ans + [-100]
        return ids, kind, [0] * len(ids), tgt, [-100] * len(ids)

    def text(self, caption):
        ids = [self.bos] + self.tok.encode(caption) + [self.eos]
        return ids, [TEXT] * len(ids), [0] * len(ids), ids[1:] + [-100], [-100] * len(ids)


def batch(samples, pad):
    """Right-padded (B, T) tensors; padding never influences earlier positions (causal)."""
    T = max(len(s[0]) for s in samples)
    out = []
    for j, fill in enumerate((pad, 0, 0, -100, -100)):
        out.append(torch.tensor([s[j] + [fill] * (T - len(s[j])) for s in samples], dtype=torch.long))
    return out


def pixels(images):
    """uint8 (n, S, S, 3) -> (n, 3, S, S) in [-1, 1], as vkseek's preprocessing computes it."""
    x = torch.from_numpy(np.asarray(images)).permute(0, 3, 1, 2).float()
    return (x / 255.0 - 0.5) / 0.5

#!/usr/bin/env python3
"""sampler_pin.py: an independent re-implementation (Python doubles, no numpy) of the
sampler's draw at T=1 with no filters: xoshiro256** seeded by splitmix64, the table +
Taylor exp of text/sampler.c, the cumulative walk in id order. Prints the 16 ids that
tests/test_sampler.c pins for seed 2024 on its 64-entry row, and a hash of the bits of the
row's 64 probabilities, so the C sampler is checked against arithmetic done elsewhere
rather than against a recording of itself."""
import math
import struct

MASK = (1 << 64) - 1


def splitmix64(state):
    state = (state + 0x9E3779B97F4A7C15) & MASK
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return state, z ^ (z >> 31)


def rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & MASK


class Xoshiro256ss:
    def __init__(self, seed):
        self.r = []
        for _ in range(4):
            seed, v = splitmix64(seed)
            self.r.append(v)

    def next(self):
        r = self.r
        out = (rotl((r[1] * 5) & MASK, 7) * 9) & MASK
        t = (r[1] << 17) & MASK
        r[2] ^= r[0]
        r[3] ^= r[1]
        r[1] ^= r[2]
        r[0] ^= r[3]
        r[2] ^= t
        r[3] = rotl(r[3], 45)
        return out

    def unit(self):
        return (self.next() >> 11) * 2.0**-53


INV_LN2_64 = float.fromhex("0x1.71547652b82fep+6")
LN2_64_HI = float.fromhex("0x1.62e42fee00000p-7")
LN2_64_LO = float.fromhex("0x1.a39ef35793c76p-39")
EXP2_J64 = [2.0 ** (j / 64) for j in range(64)]  # correctly rounded (checked with decimal)


def det_exp(x):
    if not x >= -708.0:
        return 0.0
    n = int(x * INV_LN2_64 - 0.5)  # int() truncates toward 0, like the C cast
    r = (x - n * LN2_64_HI) - n * LN2_64_LO
    p = 1.0 + r * (1.0 + r * (0.5 + r * (1.0 / 6 + r * (1.0 / 24 + r * (1.0 / 120)))))
    j = n % 64
    k = (n - j) // 64
    return math.ldexp(1.0, k) * (EXP2_J64[j] * p)


def main():
    row = [float((i * 37) % 64) / 16.0 for i in range(64)]
    lmax = max(row)
    w = [det_exp((l - lmax) / 1.0) for l in row]
    z = 0.0
    for v in w:
        z += v
    rng = Xoshiro256ss(2024)
    out = []
    for _ in range(16):
        u = rng.unit() * z
        acc = 0.0
        for i, v in enumerate(w):
            if v == 0.0:
                continue
            acc += v
            if u < acc:
                out.append(i)
                break
    print(", ".join(map(str, out)))
    # the probabilities sampler_dist returns (w / z, in id order), folded bit for bit
    h = 0xCBF29CE484222325
    for v in w:
        bits = struct.unpack("<Q", struct.pack("<d", v / z))[0]
        h = ((h ^ bits) * 0x100000001B3) & MASK
    print("0x%016xull" % h)


if __name__ == "__main__":
    main()

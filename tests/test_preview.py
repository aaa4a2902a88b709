#!/usr/bin/env python3
"""test_preview.py: `vkseek generate --preview` and `vkseek view` in a real X window (Xvfb),
on the built-in model: the window's pixels (xwd) equal the saved PNG; partial frames show
the top rows before the bottom ones; a resize redraws letterboxed, and so does hiding and
showing the window; the keys S (save), R (again), Space (pause) and Q (close) through
xdotool; SIGTERM mid-way (paused) writes nothing; no display means one line and a normal
generation; the viewer's title carries the prompt and seed. Fails on any validation message.

usage: test_preview.py VKSEEK_BINARY   (Debian: xvfb, x11-apps, x11-utils, xdotool)"""
import os, shutil, signal, struct, subprocess, sys, tempfile, time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools", "world"))
from png import read_png  # noqa: E402
from checks import check, summary  # noqa: E402

VK = os.path.abspath(sys.argv[1])


def start_xvfb():
    """An Xvfb on a free display. -noreset: by default the server resets when its last client
    leaves and drops connections still in their handshake, so a vkseek connecting while an
    xwininfo poll leaves fails to open the display (2 in 300 such connections here)."""
    r, w = os.pipe()
    p = subprocess.Popen(["Xvfb", "-displayfd", str(w), "-screen", "0", "1024x768x24", "-nolisten", "tcp",
                          "-noreset"],
                         pass_fds=(w,), stderr=subprocess.DEVNULL)
    os.close(w)
    num = b""
    while not num.endswith(b"\n"):
        c = os.read(r, 1)
        if not c:
            raise SystemExit("Xvfb did not start")
        num += c
    os.close(r)
    return p, ":" + num.decode().strip()


def x(env, *cmd):
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60).stdout


def window(env, timeout=120, want=""):
    """(id, title) of the vkseek window whose title contains want."""
    t0 = time.time()
    while time.time() - t0 < timeout:
        for line in x(env, "xwininfo", "-root", "-tree").splitlines():
            line = line.strip()
            if '"' in line and want in line and ('"vkseek' in line or "vkseek" in line.split('"')[1]):
                return line.split()[0], line.split('"')[1]
        time.sleep(0.1)
    return None, None


def screenshot(env, wid):
    """The window's pixels, from xwd (ZPixmap, 24 or 32 bits a pixel)."""
    d = subprocess.run(["xwd", "-silent", "-id", wid], env=env, capture_output=True, timeout=60).stdout
    h = struct.unpack(">25I", d[:100])
    size, ncolors, width, height, order, bpp, bpl = h[0], h[19], h[4], h[5], h[7], h[11], h[12]
    masks = h[14:17]
    raw = np.frombuffer(d, np.uint8, count=height * bpl, offset=size + 12 * ncolors).reshape(height, bpl)
    B = bpp // 8
    px = raw[:, :width * B].reshape(height, width, B).astype(np.uint32)
    if order:
        px = px[..., ::-1]
    v = sum(px[..., i] << (8 * i) for i in range(B))
    return np.stack([((v & m) >> ((m & -m).bit_length() - 1)).astype(np.uint8) for m in masks], -1)


def shown_picture(shot, side):
    """The picture a window shows, fitted and centred (nearest enlargement): one sample at
    the centre of each picture pixel."""
    H, W = shot.shape[:2]
    k = min(W, H) / side
    x0, y0 = (W - round(side * k)) // 2, (H - round(side * k)) // 2
    idx = (np.arange(side) * k + k / 2).astype(int)
    return shot[y0 + idx][:, x0 + idx], (x0, y0, k)


def wait_exit(p, timeout=120):
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        return None, err
    return p.returncode, err


def main():
    xvfb, display = start_xvfb()
    env = dict(os.environ, DISPLAY=display)
    env.pop("WAYLAND_DISPLAY", None)
    tmp = tempfile.mkdtemp(prefix="vkseek-preview-")
    try:
        run(env, tmp)
    finally:
        xvfb.terminate()
        xvfb.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    return summary("test_preview")


def run(env, tmp):
    prompt = "a large red square at the bottom on a white background"
    frames = os.path.join(tmp, "frames")
    os.mkdir(frames)
    out = os.path.join(tmp, "out.png")

    # 1. the window shows the pictures forming, then exactly the saved one
    p = subprocess.Popen([VK, "generate", prompt, "-o", out, "--seed", "3", "--preview"],
                         env=dict(env, VKSEEK_PREVIEW_DUMP=frames), stderr=subprocess.PIPE, text=True)
    wid, title = window(env, want="S save")
    if wid is None:
        p.kill()
        err = p.communicate()[1]
        check(False, f"the window reaches its finished state; last title {window(env, 1)[1]!r}; "
                     f"stderr: {err[-500:]}")
        return
    check(os.path.exists(out), "the picture is written when it is finished")
    check(prompt in title and "seed 3" in title, f"the title names the prompt and seed: {title!r}")
    saved = read_png(out)
    side = saved.shape[0]
    time.sleep(0.5)
    got, (x0, y0, k) = shown_picture(screenshot(env, wid), side)
    diff = np.abs(got.astype(int) - saved.astype(int))
    check(diff.max() <= 2, f"the window shows the saved picture (max difference {diff.max()})")

    names = sorted(os.listdir(frames))
    check(len(names) >= 2, f"partial frames before the final one ({len(names)} frames)")
    last = read_png(os.path.join(frames, names[-1]))
    check(np.array_equal(last, saved), "the last frame shown is the saved picture")
    first = read_png(os.path.join(frames, names[0])).astype(int)
    rows = np.abs(first - saved.astype(int)).mean(axis=(1, 2))
    q = side // 4
    check(rows[:q].mean() + 1 < rows[-q:].mean(),
          f"the first partial frame has the top rows before the bottom ones "
          f"(difference to the final picture: top {rows[:q].mean():.1f}, bottom {rows[-q:].mean():.1f})")

    # a resize: a new swapchain, the picture letterboxed in the middle
    x(env, "xdotool", "windowsize", wid, str(2 * side * 3), str(side * 3))
    time.sleep(1.0)
    shot = screenshot(env, wid)
    check(shot.shape[:2] == (side * 3, 2 * side * 3), f"the window was resized ({shot.shape[:2]})")
    got, (x0, y0, k) = shown_picture(shot, side)
    diff = np.abs(got.astype(int) - saved.astype(int))
    check(diff.max() <= 2 and abs(k - 3) < 1e-9, f"after a resize the picture is redrawn fitted (max difference {diff.max()})")
    border = shot[:, : side // 2].reshape(-1, 3)
    check((np.abs(border.astype(int) - 31) <= 1).all(), "the sides are the dark grey border")

    # hidden (unmapped, as a minimised window is) and shown again: redrawn
    x(env, "xdotool", "windowunmap", "--sync", wid)
    time.sleep(0.5)
    x(env, "xdotool", "windowmap", "--sync", wid)
    time.sleep(1.0)
    got, _ = shown_picture(screenshot(env, wid), side)
    check(np.abs(got.astype(int) - saved.astype(int)).max() <= 2, "hidden and shown again: redrawn")

    # keys: S saves out-seed3.png; Q closes; the run ends well (exit 0)
    x(env, "xdotool", "windowfocus", "--sync", wid, "key", "s")
    seeded = os.path.join(tmp, "out-seed3.png")
    for _ in range(100):
        if os.path.exists(seeded):
            break
        time.sleep(0.1)
    check(os.path.exists(seeded) and np.array_equal(read_png(seeded), saved), "S saves the picture as out-seed3.png")
    # R draws again with the next seed; Space pauses and resumes it
    x(env, "xdotool", "key", "r", "space")
    wp, tp = window(env, want="paused", timeout=30)
    check(wp is not None, "Space pauses the generation (title says paused)")
    x(env, "xdotool", "key", "space")
    w2, t2 = window(env, want="seed 4 - S save", timeout=120)
    check(w2 is not None, f"R draws again with the next seed ({t2!r})")
    x(env, "xdotool", "key", "s")
    s4 = os.path.join(tmp, "out-seed4.png")
    for _ in range(100):
        if os.path.exists(s4):
            break
        time.sleep(0.1)
    check(os.path.exists(s4), "S after R saves the new picture")
    x(env, "xdotool", "key", "q")
    rc, err = wait_exit(p)
    check(rc == 0, f"Q after the run: exit 0 (got {rc}): {err[-300:]}")
    check("validation:" not in err, f"no validation messages: {err[-500:]}")

    # 2. SIGTERM mid-way, while paused: exit 1, nothing written, no temporary files left
    out2 = os.path.join(tmp, "mid", "late.png")
    os.mkdir(os.path.dirname(out2))
    frames2 = os.path.join(tmp, "frames2")
    os.mkdir(frames2)
    p = subprocess.Popen([VK, "generate", prompt, "-o", out2, "-n", "4", "--preview"],
                         env=dict(env, VKSEEK_PREVIEW_DUMP=frames2), stderr=subprocess.PIPE, text=True)
    for _ in range(1200):
        if os.listdir(frames2):
            break
        time.sleep(0.05)
    wid, _ = window(env, want="tokens/s", timeout=30)
    if wid:
        x(env, "xdotool", "windowfocus", "--sync", wid, "key", "space")
    check(window(env, want="paused", timeout=10)[0] is not None, "Space pauses a run mid-way")
    p.send_signal(signal.SIGTERM)
    rc, err = wait_exit(p, 60)
    check(rc == 1 and "interrupted" in err and "nothing written" in err,
          f"SIGTERM while drawing: exit 1 and says so (exit {rc}): {err[-300:]}")
    check(os.listdir(os.path.dirname(out2)) == [], "SIGTERM while drawing leaves no file")
    check("validation:" not in err, f"no validation messages after SIGTERM: {err[-500:]}")

    # 3. no display: one line, then the generation as usual
    noenv = {k: v for k, v in env.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    out3 = os.path.join(tmp, "headless.png")
    r = subprocess.run([VK, "generate", prompt, "-o", out3, "--seed", "3", "--preview"], env=noenv,
                       capture_output=True, text=True, timeout=300)
    lines = [l for l in r.stderr.splitlines() if l.startswith("vkseek: preview")]
    check(r.returncode == 0 and len(lines) == 1 and "unavailable" in lines[0] and "DISPLAY" in lines[0],
          f"no display: one line saying why ({r.stderr[-300:]!r})")
    check(os.path.exists(out3) and np.array_equal(read_png(out3), saved), "no display: the same picture is written")

    # 4. the viewer: title from the PNG's text, pixels, arrows move, Q closes
    p = subprocess.Popen([VK, "view", out, tmp], env=env, stderr=subprocess.PIPE, text=True)
    wid, title = window(env, want="[1/")
    check(wid is not None and prompt in title and "(seed 3)" in title and "out.png" in title,
          f"view: the title names the file, prompt and seed ({title!r})")
    if wid:
        time.sleep(0.5)
        got, _ = shown_picture(screenshot(env, wid), side)
        check(np.abs(got.astype(int) - saved.astype(int)).max() <= 2, "view: the window shows the picture")
        x(env, "xdotool", "windowfocus", "--sync", wid, "key", "Right")
        w2, t2 = window(env, want="[2/", timeout=30)
        check(w2 is not None, f"view: Right moves to the next picture ({t2!r})")
        x(env, "xdotool", "key", "q")
    rc, err = wait_exit(p, 60)
    check(rc == 0 and "validation:" not in err, f"view: Q closes, exit 0 (got {rc}): {err[-300:]}")
    r = subprocess.run([VK, "view", os.path.join(tmp, "missing.png")], env=env, capture_output=True, text=True)
    check(r.returncode == 1 and r.stderr.count("\n") == 1 and "missing.png" in r.stderr,
          f"view: a missing file is one line and exit 1 ({r.stderr!r})")


if __name__ == "__main__":
    sys.exit(main())

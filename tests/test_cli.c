/* test_cli.c: the vkseek binary as a user runs it (its path is argv[1]): `logits` against
 * the DeepSeek-V3 golden, `inspect`, `tokenize`, and bad input giving one error line and a
 * non-zero exit, never a crash. */
#define _GNU_SOURCE /* memmem */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include "engine/safetensors.h"
#include "harness.h"

static const char *bin;

/* Runs the binary with args; returns its exit code (-1 if it crashed) and its output
 * (stdout and stderr, unless args redirect stderr themselves). */
static int run(const char *args, char *out, size_t n)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s %s%s", bin, args, strstr(args, "2>") ? "" : " 2>&1");
    FILE *p = popen(cmd, "r");
    size_t len = p ? fread(out, 1, n - 1, p) : 0;
    out[len] = 0;
    int st = p ? pclose(p) : -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Each case must exit 1 with one "vkseek: " line naming the given word. */
typedef struct { const char *args, *word; } bad_case;
static void expect_failures(const bad_case *bad, size_t n)
{
    static char out[8192];
    for (size_t i = 0; i < n; i++) {
        int rc = run(bad[i].args, out, sizeof out);
        th_expect(rc == 1 && strstr(out, "vkseek: ") && strstr(out, bad[i].word),
                  "'%s' should fail with '%s': exit %d, %s", bad[i].args, bad[i].word, rc, out);
    }
}

static void test_logits_match_golden(void)
{
    char out[4096], err[256];
    const char *ids = "0 109 43 490 418 163 32 446 25 208 479 136 398 101 324 278 60 289 88 286";
    char args[512];
    snprintf(args, sizeof args, "logits --model golden/deepseek/v3-tiny --kv-cache f32 --tokens \"%s\" -o /tmp/vkseek-cli-logits.bin", ids);
    int rc = run(args, out, sizeof out);
    if (!th_expect(rc == 0, "vkseek logits exit %d: %s", rc, out)) return;
    float got[512];
    FILE *f = fopen("/tmp/vkseek-cli-logits.bin", "rb");
    size_t n = f ? fread(got, 4, 512, f) : 0;
    if (f) fclose(f);
    remove("/tmp/vkseek-cli-logits.bin");
    safetensors *g;
    if (!th_expect(n == 512 && st_open("golden/deepseek/v3-tiny/golden.safetensors", &g, err, sizeof err) == 0,
                   "read back: %zu floats, %s", n, err))
        return;
    for (int i = 0; i < st_count(g); i++)
        if (strcmp(st_tensor(g, i)->name, "p20.prefill.logits_last") == 0)
            th_check("vkseek logits vs the official code", (const float *)st_tensor(g, i)->data, got, 512, 1e-5);
    st_close(g);
}

static void test_commands(void)
{
    char out[8192];
    int rc = run("inspect golden/deepseek/v3-tiny-sharded --quant q8_0", out, sizeof out);
    th_expect(rc == 0 && strstr(out, "deepseek_v3") && strstr(out, "2 files"), "inspect: %s", out);
    rc = run("tokenize --model golden/tokenizer/deepseek_v3 --no-bos \"Hello, world\"", out, sizeof out);
    th_expect(rc == 0 && strncmp(out, "19923 14 2058", 13) == 0, "tokenize: %s", out);
    bad_case bad[] = {
        {"logits --model golden/deepseek/v3-tiny --tokens \"0 512\" -o /tmp/x.bin", "outside the vocabulary"},
        {"logits --model golden/deepseek/v3-tiny --tokens \"\" -o /tmp/x.bin", "no token ids"},
        {"logits --model golden/deepseek/v3-tiny --tokens \"1 -3\" -o /tmp/x.bin", "non-negative"},
        {"logits --model /nonexistent --tokens \"1\" -o /tmp/x.bin", "config.json"},
        {"inspect golden/deepseek/v3-tiny --quant q3", "--quant"},
        {"run --model data/tiny-chat --kv-cache f64 -p hi", "--kv-cache"},
        {"generate \"a red circle\" -o /tmp/vkseek-cli-x.png --ctx 40", "needs --ctx"},
        {"run --model data/tiny-chat --speculative eagle -p hi", "mtp"},
        {"inspect /nonexistent-model", "nonexistent-model"},
        {"frobnicate", "unknown command"},
        {"devices --device 99", "does not exist"},
        {"tokenize --model /nonexistent hi", "tokenizer.json"},
    };
    expect_failures(bad, sizeof bad / sizeof *bad);
}

/* run and chat on the tiny model (real weights, random meaning): determinism, limits,
 * statistics on stderr only, bad prompts refused. */
static void test_run_and_chat(void)
{
    static char a[8192], b[8192], c[8192];
    const char *m = "--model data/tiny-chat";
    char args[512];
    snprintf(args, sizeof args, "run %s --raw -p \"Hello there\" -n 12 --temp 0 2>/dev/null", m);
    int ra = run(args, a, sizeof a), rb = run(args, b, sizeof b);
    th_expect(ra == 0 && rb == 0 && strcmp(a, b) == 0, "greedy run twice: same answer (exit %d %d)", ra, rb);
    snprintf(args, sizeof args, "run %s --raw -p \"Hello there\" -n 12 --temp 1 --seed 7 2>/dev/null", m);
    ra = run(args, a, sizeof a), rb = run(args, b, sizeof b);
    snprintf(args, sizeof args, "run %s --raw -p \"Hello there\" -n 12 --temp 1 --seed 8 2>/dev/null", m);
    int rcc = run(args, c, sizeof c);
    th_expect(ra == 0 && rb == 0 && rcc == 0 && strcmp(a, b) == 0, "same seed, same answer");
    th_expect(strcmp(a, c) != 0, "another seed, another answer");
    /* stdout has only the answer; the statistics line is on stderr */
    snprintf(args, sizeof args, "run %s -p hi -n 5 --temp 0 2>&1 >/dev/null", m);
    ra = run(args, a, sizeof a);
    th_expect(ra == 0 && strstr(a, "generated 5 tokens") && strstr(a, "finish: length"),
              "statistics on stderr: %s", a);
    bad_case bad[] = {
        {"run --model data/tiny-chat -p \"\"", "empty"},
        {"run --model data/tiny-chat -p \"$(head -c 300 /dev/zero | tr '\\0' a)\" --ctx 16", "context"},
        {"run --model data/tiny-chat -p \"$(printf 'bad \\377 utf8')\"", "UTF-8"},
        {"run --model data/tiny-chat -p hi --temp -1", "--temp"},
        {"run --model data/tiny-chat -p hi --top-p 2", "--top-p"},
        {"run --model data/tiny-chat -p hi --template gpt", "gpt"},
        {"run --model /nonexistent-model -p hi", "nonexistent-model"},
    };
    expect_failures(bad, sizeof bad / sizeof *bad);
    /* a chat of two turns with a reset between, from stdin */
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "printf 'hi\\n/reset\\nhello again\\n/exit\\n' | %s chat %s -n 6 --temp 0 2>&1", bin, m);
    FILE *p = popen(cmd, "r");
    size_t len = p ? fread(a, 1, sizeof a - 1, p) : 0;
    a[len] = 0;
    int st = p ? pclose(p) : -1;
    th_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "chat over stdin exits 0: %s", a);
}

static long file_size(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return n;
}

static int same_file(const char *a, const char *b)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "cmp -s '%s' '%s'", a, b);
    return system(cmd) == 0;
}

/* Janus through the binary on the tiny Janus model: pictures written, reproducible by seed,
 * with their settings inside; questions about a picture answered; bad input refused. */
static void test_janus_commands(void)
{
    static char out[8192];
    const char *m = "--model data/tiny-janus";
    char args[768];
    system("rm -rf /tmp/vkseek-cli-img && mkdir -p /tmp/vkseek-cli-img");
    snprintf(args, sizeof args, "generate %s \"a red circle\" -o /tmp/vkseek-cli-img/a.png --seed 4", m);
    int rc = run(args, out, sizeof out);
    th_expect(rc == 0 && file_size("/tmp/vkseek-cli-img/a.png") > 100, "generate: exit %d, %s", rc, out);
    snprintf(args, sizeof args, "generate %s \"a red circle\" -o /tmp/vkseek-cli-img/b.png --seed 4", m);
    run(args, out, sizeof out);
    th_expect(same_file("/tmp/vkseek-cli-img/a.png", "/tmp/vkseek-cli-img/b.png"), "same seed, same picture");
    snprintf(args, sizeof args, "generate %s \"a red circle\" -o /tmp/vkseek-cli-img/c.png --seed 5", m);
    run(args, out, sizeof out);
    th_expect(!same_file("/tmp/vkseek-cli-img/a.png", "/tmp/vkseek-cli-img/c.png"), "another seed, another picture");
    snprintf(args, sizeof args, "generate %s \"two squares\" -o /tmp/vkseek-cli-img/n.jpg -n 2 --cfg 3 --temp 0.8", m);
    rc = run(args, out, sizeof out);
    th_expect(rc == 0 && file_size("/tmp/vkseek-cli-img/n-1.jpg") > 100 &&
                  file_size("/tmp/vkseek-cli-img/n-2.jpg") > 100, "-n 2 writes n-1.jpg and n-2.jpg: %s", out);
    FILE *f = fopen("/tmp/vkseek-cli-img/a.png", "rb");
    char png[4096] = {0};
    size_t n = f ? fread(png, 1, sizeof png, f) : 0;
    if (f) fclose(f);
    th_expect(n > 0 && memmem(png, n, "a red circle", 12) && memmem(png, n, "seed", 4),
              "the PNG carries the prompt and seed");
    snprintf(args, sizeof args, "ask %s --image golden/janus/image_preprocess/landscape_100x60.png "
                                "\"what is this?\" -n 6 --temp 0", m);
    rc = run(args, out, sizeof out);
    th_expect(rc == 0 && strstr(out, "generated 6 tokens"), "ask: exit %d, %s", rc, out);
    snprintf(args, sizeof args, "ask %s --image golden/janus/image_preprocess/square_64x64.png "
                                "--image golden/janus/image_preprocess/portrait_60x100.png "
                                "\"compare them\" -n 3 --temp 0", m);
    rc = run(args, out, sizeof out);
    th_expect(rc == 0 && strstr(out, "prompt 2"), "ask about two pictures: exit %d, %s", rc, out);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "printf '/image golden/janus/image_preprocess/square_64x64.png\\n"
                              "what is it\\nand this one\\n/image /nonexistent.png\\n/exit\\n' | "
                              "%s chat %s -n 3 --temp 0 2>&1", bin, m);
    FILE *p = popen(cmd, "r");
    size_t len = p ? fread(out, 1, sizeof out - 1, p) : 0;
    out[len] = 0;
    int st = p ? pclose(p) : -1;
    th_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0 && strstr(out, "nonexistent.png"),
              "chat with a picture over stdin: %s", out);
    bad_case bad[] = {
        {"generate --model data/tiny-janus \"x\" -o /tmp/vkseek-cli-img/x.gif", ".png, .jpg"},
        {"generate --model data/tiny-janus \"x\"", "-o FILE"},
        {"generate --model data/tiny-janus -o /tmp/vkseek-cli-img/x.png", "prompt"},
        {"generate --model data/tiny-janus \"x\" -o /nonexistent-dir/x.png", "nonexistent-dir"},
        {"generate --model data/tiny-chat \"x\" -o /tmp/vkseek-cli-img/x.png", "not a Janus"},
        {"ask --model data/tiny-janus --image /nonexistent.png \"q\"", "nonexistent.png"},
        {"ask --model data/tiny-janus --image data/tiny-janus/README.md \"q\"", "README.md"},
        {"ask --model data/tiny-janus \"q\"", "--image"},
    };
    expect_failures(bad, sizeof bad / sizeof *bad);
    th_expect(file_size("/tmp/vkseek-cli-img/x.png") < 0 && file_size("/tmp/vkseek-cli-img/x.gif") < 0,
              "no file left by a failed generate");
    system("rm -rf /tmp/vkseek-cli-img");
}

/* --prompts FILE: one model load, images numbered in prompt order, each the same picture
 * as a run of its prompt alone with its seed; and the model from $VKSEEK_MODEL. */
static void test_prompts_file(void)
{
    static char out[8192];
    char args[1024];
    system("rm -rf /tmp/vkseek-cli-p && mkdir -p /tmp/vkseek-cli-p && "
           "printf 'a red circle\\n\\n  \\ntwo squares\\n' > /tmp/vkseek-cli-p/list.txt && "
           ": > /tmp/vkseek-cli-p/empty.txt");
    int rc = run("generate --model data/tiny-janus --prompts /tmp/vkseek-cli-p/list.txt -n 2 "
                 "--seed 7 -o /tmp/vkseek-cli-p/p.png", out, sizeof out);
    th_expect(rc == 0 && file_size("/tmp/vkseek-cli-p/p-4.png") > 100 && file_size("/tmp/vkseek-cli-p/p-5.png") < 0,
              "--prompts: 2 prompts x 2 images make p-1..p-4: exit %d, %s", rc, out);
    snprintf(args, sizeof args, "sh -c 'VKSEEK_MODEL=data/tiny-janus %s generate \"two squares\" -n 2 "
             "--seed 9 -o /tmp/vkseek-cli-p/alone.png 2>/dev/null'", bin);
    rc = system(args);
    th_expect(rc == 0 && same_file("/tmp/vkseek-cli-p/p-3.png", "/tmp/vkseek-cli-p/alone-1.png") &&
                  same_file("/tmp/vkseek-cli-p/p-4.png", "/tmp/vkseek-cli-p/alone-2.png"),
              "the second prompt's images equal a run of it alone at seed 7 + 2 ($VKSEEK_MODEL)");
    bad_case bad[] = {
        {"generate --model data/tiny-janus --prompts /nonexistent.txt -o /tmp/vkseek-cli-p/x.png", "nonexistent.txt"},
        {"generate --model data/tiny-janus --prompts /tmp/vkseek-cli-p/empty.txt -o /tmp/vkseek-cli-p/x.png", "no prompts"},
        {"generate --model data/tiny-janus --prompts /tmp/vkseek-cli-p/list.txt \"x\" -o /tmp/vkseek-cli-p/x.png", "not both"},
    };
    expect_failures(bad, sizeof bad / sizeof *bad);
    rc = run("generate --help", out, sizeof out);
    th_expect(rc == 0 && strstr(out, "--prompts FILE"), "generate --help: %s", out);
    system("rm -rf /tmp/vkseek-cli-p");
}

/* Without --model, the built-in model: a Janus on a DeepSeek-V3 stack. */
static void test_builtin_model(void)
{
    static char out[8192];
    int rc = run("inspect", out, sizeof out);
    th_expect(rc == 0 && strstr(out, "janus: vision") && strstr(out, "deepseek_v3") && strstr(out, "experts"),
              "inspect shows the built-in model: exit %d, %s", rc, out);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_cli PATH_TO_VKSEEK\n");
        return 1;
    }
    bin = argv[1];
    th_init("test_cli");
    test_logits_match_golden();
    test_commands();
    test_run_and_chat();
    test_janus_commands();
    test_prompts_file();
    test_builtin_model();
    return th_finish();
}

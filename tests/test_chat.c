/* test_chat.c: chat prompts: every template against hand-written expected text (multi-turn,
 * system prompts, R1's </think> stripping, Janus' strip and separators), the rendered
 * special tokens against the real DeepSeek-V3 tokenizer, and template detection on the real
 * tokenizer_config.json, the golden model configs and the small dirs in data/chat/.
 * No GPU; runs from tests/. */
#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "text/chat.h"
#include "text/tokenizer.h"
#include "check.h"

/* Prints s with \n and control bytes escaped, so a mismatch shows where it is. */
static void show(const char *label, const char *s)
{
    printf("  %s: \"", label);
    for (; s && *s; s++) {
        if (*s == '\n') fputs("\\n", stdout);
        else if ((unsigned char)*s < 0x20) printf("\\x%02x", (unsigned char)*s);
        else putchar(*s);
    }
    puts("\"");
}

#define BOS "<｜begin▁of▁sentence｜>"
#define EOS "<｜end▁of▁sentence｜>"
#define N(a) (int)(sizeof(a) / sizeof *(a))

static void expect_render(const char *what, chat_template t, const chat_msg *m, int n, int gen,
                          const chat_specials *sp, const char *want)
{
    char err[256] = "", *got = NULL;
    size_t len = 0;
    int r = chat_render(t, m, n, gen, sp, &got, &len, err, sizeof err);
    int ok = r == 0 && got && len == strlen(got) && strcmp(got, want) == 0;
    if (!check(ok, "%s (%s)", what, chat_template_name(t))) {
        if (r) printf("  error: %s\n", err);
        show("want", want);
        show("got ", got);
    }
    free(got);
}

static void test_deepseek_v3(void)
{
    const chat_msg m[] = {
        {CHAT_SYSTEM, "You are helpful."},
        {CHAT_USER, "Hi"},
        {CHAT_ASSISTANT, "Hello! How can I help?"},
        {CHAT_SYSTEM, "Answer briefly."},
        {CHAT_USER, "What is 2+2?"},
    };
    expect_render("V3: both system prompts first, joined by a blank line; generation prompt",
                  CHAT_DEEPSEEK_V3, m, N(m), 1,
                  NULL,
                  BOS "You are helpful.\n\nAnswer briefly.<｜User｜>Hi<｜Assistant｜>Hello! How can "
                  "I help?" EOS "<｜User｜>What is 2+2?<｜Assistant｜>");
    const chat_msg t[] = {{CHAT_USER, "a"}, {CHAT_ASSISTANT, "<think>x</think>b"}};
    expect_render("V3: no system, ends with an answer, which keeps its think block",
                  CHAT_DEEPSEEK_V3, t, N(t), 0, NULL,
                  BOS "<｜User｜>a<｜Assistant｜><think>x</think>b" EOS);
    expect_render("V3: no messages, generation prompt only", CHAT_DEEPSEEK_V3, NULL, 0, 1, NULL,
                  BOS "<｜Assistant｜>");
    const chat_msg e[] = {{CHAT_SYSTEM, NULL}, {CHAT_USER, ""}};
    expect_render("V3: NULL and empty contents", CHAT_DEEPSEEK_V3, e, N(e), 1, NULL,
                  BOS "<｜User｜><｜Assistant｜>");
}

static void test_deepseek_r1(void)
{
    const chat_msg m[] = {
        {CHAT_USER, "1+1?"},
        {CHAT_ASSISTANT, "<think>\nadd them\n</think>\n\n2"},
        {CHAT_USER, "times 3?"},
        {CHAT_ASSISTANT, "a</think>b</think>c"},
        {CHAT_USER, "no think?"},
        {CHAT_ASSISTANT, "plain <think> answer"},
        {CHAT_USER, "ok"},
    };
    expect_render("R1: earlier answers keep what follows their last </think>; <think>\\n opens "
                  "the reply",
                  CHAT_DEEPSEEK_R1, m, N(m), 1, NULL,
                  BOS "<｜User｜>1+1?<｜Assistant｜>\n\n2" EOS "<｜User｜>times 3?<｜Assistant｜>c" EOS
                  "<｜User｜>no think?<｜Assistant｜>plain <think> answer" EOS
                  "<｜User｜>ok<｜Assistant｜><think>\n");
    const chat_msg s[] = {{CHAT_SYSTEM, "Be terse."}, {CHAT_USER, "q"}};
    expect_render("R1: system prompt, no generation prompt", CHAT_DEEPSEEK_R1, s, N(s), 0, NULL,
                  BOS "Be terse.<｜User｜>q");
    chat_specials sp = {"<BOS>", "<EOS>"};
    const chat_msg d[] = {{CHAT_USER, "q"}, {CHAT_ASSISTANT, "<think>r</think>a"}, {CHAT_USER, "q2"}};
    expect_render("R1 distill: the tokenizer's own BOS/EOS strings", CHAT_DEEPSEEK_R1, d, N(d), 1,
                  &sp, "<BOS><｜User｜>q<｜Assistant｜>a<EOS><｜User｜>q2<｜Assistant｜><think>\n");
    check(chat_template_opens_think(CHAT_DEEPSEEK_R1) && !chat_template_opens_think(CHAT_DEEPSEEK_V3)
              && !chat_template_opens_think(CHAT_DEEPSEEK_V2) && !chat_template_opens_think(CHAT_JANUS),
          "only R1's generation prompt opens a think block");
}

static void test_deepseek_v2(void)
{
    const chat_msg m[] = {
        {CHAT_SYSTEM, "S"},
        {CHAT_USER, "u1"},
        {CHAT_ASSISTANT, "a1"},
        {CHAT_USER, "u2"},
    };
    expect_render("V2: system, two turns, 'Assistant:' generation prompt", CHAT_DEEPSEEK_V2, m,
                  N(m), 1, NULL,
                  BOS "S\n\nUser: u1\n\nAssistant: a1" EOS "User: u2\n\nAssistant:");
    expect_render("V2: ends with a user turn, no generation prompt", CHAT_DEEPSEEK_V2, m + 1, 3, 0,
                  NULL, BOS "User: u1\n\nAssistant: a1" EOS "User: u2\n\n");
}

static void test_janus(void)
{
    const chat_msg und[] = {
        {CHAT_SYSTEM, CHAT_JANUS_SYSTEM_PROMPT},
        {CHAT_USER, "<image_placeholder>\nDescribe the image."},
    };
    expect_render("Janus understanding prompt (janus.md 1.3)", CHAT_JANUS, und, N(und), 1, NULL,
                  BOS "You are a helpful language and vision assistant. You are able to understand "
                  "the visual content that the user provides, and assist the user with a variety "
                  "of tasks using natural language.\n\n<|User|>: <image_placeholder>\nDescribe "
                  "the image.\n\n<|Assistant|>:");
    const chat_msg multi[] = {
        {CHAT_USER, "Q1"}, {CHAT_ASSISTANT, "A1"}, {CHAT_USER, "Q2"},
    };
    expect_render("Janus multi-turn: \\n\\n after questions, EOS after answers", CHAT_JANUS, multi,
                  N(multi), 1, NULL,
                  BOS "<|User|>: Q1\n\n<|Assistant|>: A1" EOS "<|User|>: Q2\n\n<|Assistant|>:");
    const chat_msg gen[] = {{CHAT_SYSTEM, ""}, {CHAT_USER, "a red apple"}};
    expect_render("Janus image-generation prompt (empty system)", CHAT_JANUS, gen, N(gen), 1, NULL,
                  BOS "<|User|>: a red apple\n\n<|Assistant|>:");
    const chat_msg ws[] = {{CHAT_SYSTEM, "\x1c\u3000 sys"}, {CHAT_USER, "hi \u2003"}};
    expect_render("Janus strips both ends like Python's str.strip (U+001C, U+3000, U+2003)",
                  CHAT_JANUS, ws, N(ws), 0, NULL, BOS "sys\n\n<|User|>: hi");
    const chat_msg empty[] = {{CHAT_USER, "Q"}, {CHAT_ASSISTANT, ""}, {CHAT_USER, "R"}};
    expect_render("Janus: an empty message is 'role:' with no separator (as conversation.py)",
                  CHAT_JANUS, empty, N(empty), 0, NULL, BOS "<|User|>: Q\n\n<|Assistant|>:<|User|>: R");
    expect_render("Janus: nothing at all is BOS", CHAT_JANUS, NULL, 0, 0, NULL, BOS);
    const chat_msg ans[] = {{CHAT_USER, "Q"}, {CHAT_ASSISTANT, "A "}};
    expect_render("Janus: a final answer keeps its EOS", CHAT_JANUS, ans, N(ans), 0, NULL,
                  BOS "<|User|>: Q\n\n<|Assistant|>: A " EOS);
}

static void expect_render_error(const char *what, chat_template t, const chat_msg *m, int n,
                                const char *needle)
{
    char err[256] = "", *got = (char *)"untouched";
    size_t len = 1;
    int r = chat_render(t, m, n, 1, NULL, &got, &len, err, sizeof err);
    check(r == -1 && got == NULL && len == 0 && strstr(err, needle), "%s: error mentions '%s' "
          "(got '%s')", what, needle, err);
}

static void test_render_errors(void)
{
    const chat_msg role[] = {{CHAT_USER, "a"}, {(chat_role)7, "b"}};
    expect_render_error("unknown role", CHAT_DEEPSEEK_V3, role, 2, "message 1 has unknown role");
    const chat_msg utf[] = {{CHAT_USER, "ok"}, {CHAT_ASSISTANT, "ab\xff"}};
    expect_render_error("invalid UTF-8", CHAT_JANUS, utf, 2, "message 1 is not valid UTF-8 (byte 2");
    expect_render_error("negative count", CHAT_DEEPSEEK_V2, utf, -1, "messages");
    expect_render_error("too many messages", CHAT_DEEPSEEK_V2, utf, CHAT_MAX_MESSAGES + 1,
                        "messages");
    expect_render_error("unknown template", (chat_template)99, utf, 1, "unknown template");
}

static void test_names(void)
{
    const chat_template all[] = {CHAT_DEEPSEEK_V3, CHAT_DEEPSEEK_R1, CHAT_DEEPSEEK_V2, CHAT_JANUS};
    for (int i = 0; i < N(all); i++) {
        chat_template t = (chat_template)-1;
        char err[256];
        int r = chat_template_by_name(chat_template_name(all[i]), &t, err, sizeof err);
        check(r == 0 && t == all[i], "by_name(name(%d)) = %d", (int)all[i], (int)t);
    }
    chat_template t;
    char err[256] = "";
    int r = chat_template_by_name("chatml", &t, err, sizeof err);
    check(r == -1 && strstr(err, "'chatml'") && strstr(err, "deepseek-r1"),
          "an unknown name is an error listing the names ('%s')", err);
}

/* The rendered special tokens are the tokenizer's added tokens byte for byte: the prompt
 * encodes (without add_bos) to exactly one BOS, at the start, and the turn tokens. */
static void test_against_the_v3_tokenizer(void)
{
    char err[512];
    tokenizer *tk = tok_load("golden/tokenizer/deepseek_v3", err, sizeof err);
    if (!check(tk != NULL, "load the DeepSeek-V3 tokenizer: %s", tk ? "" : err)) return;
    chat_specials sp, ds = chat_specials_deepseek();
    int r = chat_specials_from_tokenizer(tk, &sp, err, sizeof err);
    check(r == 0 && strcmp(sp.bos, ds.bos) == 0 && strcmp(sp.eos, ds.eos) == 0,
          "the V3 tokenizer's BOS/EOS strings are the DeepSeek ones ('%s' '%s')", sp.bos, sp.eos);
    const chat_msg m[] = {{CHAT_USER, "Hi"}, {CHAT_ASSISTANT, "Yo"}, {CHAT_USER, "Bye"}};
    char *p = NULL;
    size_t len = 0;
    int32_t *ids = NULL;
    size_t n = 0;
    if (chat_render(CHAT_DEEPSEEK_V3, m, N(m), 1, &sp, &p, &len, err, sizeof err) == 0 &&
        tok_encode(tk, p, len, 0, &ids, &n, err, sizeof err) == 0) {
        int bos = 0, user = 0, asst = 0, eos = 0;
        for (size_t i = 0; i < n; i++) {
            bos += ids[i] == 0;
            eos += ids[i] == 1;
            user += ids[i] == 128803;
            asst += ids[i] == 128804;
        }
        check(n > 0 && ids[0] == 0 && bos == 1 && eos == 1 && user == 2 && asst == 2 &&
                  ids[n - 1] == 128804,
              "V3 prompt encodes to one leading BOS, one EOS, 2 <｜User｜>, 2 <｜Assistant｜> "
              "(%zu ids, bos %d eos %d user %d assistant %d)", n, bos, eos, user, asst);
    } else {
        check(0, "render + encode: %s", err);
    }
    free(ids);
    free(p);
    tok_free(tk);

    tk = tok_load("golden/tokenizer/qwen3", err, sizeof err);
    if (!check(tk != NULL, "load the Qwen3 tokenizer: %s", tk ? "" : err)) return;
    r = chat_specials_from_tokenizer(tk, &sp, err, sizeof err);
    check(r == 0 && sp.bos[0] == 0 && strcmp(sp.eos, "<|im_end|>") == 0,
          "Qwen3 has no BOS and EOS <|im_end|> (got '%s' '%s')", sp.bos, sp.eos);
    tok_free(tk);
}

static char *file_template(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    cJSON *root = cJSON_Parse(buf);
    const cJSON *ct = cJSON_GetObjectItemCaseSensitive(root, "chat_template");
    char *s = cJSON_IsString(ct) ? strdup(ct->valuestring) : NULL;
    cJSON_Delete(root);
    return s;
}

static void expect_detect(const char *what, const char *jinja, const char *model_type,
                          int want /* -1: an error */, const char *needle)
{
    chat_template t = (chat_template)-1;
    char err[512] = "";
    int r = chat_template_detect(jinja, model_type, &t, err, sizeof err);
    if (want >= 0)
        check(r == 0 && (int)t == want, "detect %s: %s (got %s)", what,
              chat_template_name((chat_template)want), r ? err : chat_template_name(t));
    else
        check(r == -1 && strstr(err, needle), "detect %s: error mentioning '%s' (got '%s')", what,
              needle, r ? err : chat_template_name(t));
}

static void expect_for_model(const char *dir, int want, const char *needle)
{
    chat_template t = (chat_template)-1;
    char err[512] = "";
    int r = chat_template_for_model(dir, &t, err, sizeof err);
    if (want >= 0)
        check(r == 0 && (int)t == want, "template for %s: %s (got %s)", dir,
              chat_template_name((chat_template)want), r ? err : chat_template_name(t));
    else
        check(r == -1 && strstr(err, needle), "template for %s: error mentioning '%s' (got '%s')",
              dir, needle, r ? err : chat_template_name(t));
}

static void test_detection(void)
{
    char *v3 = file_template("golden/tokenizer/deepseek_v3/tokenizer_config.json");
    char *qwen = file_template("golden/tokenizer/qwen3/tokenizer_config.json");
    check(v3 && qwen, "read the real chat templates");
    expect_detect("the real DeepSeek-V3 template", v3, "deepseek_v3", CHAT_DEEPSEEK_V3, NULL);
    expect_detect("the real DeepSeek-V3 template, no model_type", v3, NULL, CHAT_DEEPSEEK_V3, NULL);
    expect_detect("the real Qwen3 template", qwen, "qwen3", -1, "none of DeepSeek");
    const char *r1 = "{{ bos_token }}{{ '<｜User｜>' + m['content'] }}{% set c = c.split('</think>')"
                     "[-1] %}{{ '<｜Assistant｜>' + c + '<｜end▁of▁sentence｜>' }}"
                     "{{ '<｜Assistant｜><think>\\n' }}";
    expect_detect("an R1 template on a Qwen2 distill", r1, "qwen2", CHAT_DEEPSEEK_R1, NULL);
    expect_detect("an R1 template on a Llama distill", r1, "llama", CHAT_DEEPSEEK_R1, NULL);
    expect_detect("an R1 template on R1 itself", r1, "deepseek_v3", CHAT_DEEPSEEK_R1, NULL);
    expect_detect("a V2 template", "{{ 'User: ' + message['content'] + '\\n\\n' }}{{ 'Assistant: ' "
                  "+ message['content'] + eos_token }}{{ 'Assistant:' }}", "deepseek_v2",
                  CHAT_DEEPSEEK_V2, NULL);
    expect_detect("a Janus-style template", "{{ '<|User|>: ' + m }}{{ '<|Assistant|>:' }}", "llama",
                  CHAT_JANUS, NULL);
    expect_detect("model_type multi_modality wins over the text", v3, "multi_modality", CHAT_JANUS,
                  NULL);
    expect_detect("model_type janus (HF port), no template", NULL, "janus", CHAT_JANUS, NULL);
    expect_detect("a V3.1 thinking-mode template", "{{'<｜User｜>' + c}}{{'<｜Assistant｜></think>'}}"
                  "{% if thinking %}{{'<think>'}}{% endif %}", "deepseek_v3", -1, "V3.1");
    expect_detect("no template, deepseek_v3", NULL, "deepseek_v3", CHAT_DEEPSEEK_V3, NULL);
    expect_detect("empty template, deepseek_v2", "", "deepseek_v2", CHAT_DEEPSEEK_V2, NULL);
    expect_detect("no template, qwen2", NULL, "qwen2", -1, "model_type 'qwen2'");
    expect_detect("nothing at all", NULL, NULL, -1, "(none)");
    free(v3);
    free(qwen);

    expect_for_model("golden/tokenizer/deepseek_v3", CHAT_DEEPSEEK_V3, NULL);
    expect_for_model("golden/tokenizer/qwen3", -1, "none of DeepSeek");
    expect_for_model("golden/deepseek/v3-tiny", CHAT_DEEPSEEK_V3, NULL);
    expect_for_model("golden/deepseek/v2lite-tiny", CHAT_DEEPSEEK_V2, NULL);
    expect_for_model("golden/janus/janus_tiny", CHAT_JANUS, NULL);
    expect_for_model("data/chat/r1_distill", CHAT_DEEPSEEK_R1, NULL);
    expect_for_model("data/chat/template_list", CHAT_DEEPSEEK_V3, NULL);
    expect_for_model("data/chat/jinja_file", CHAT_DEEPSEEK_V2, NULL);
    expect_for_model("data/chat/broken", -1, "data/chat/broken/tokenizer_config.json");
    expect_for_model("data/chat/no_such_dir", -1, "no chat_template");
}

int main(void)
{
    test_deepseek_v3();
    test_deepseek_r1();
    test_deepseek_v2();
    test_janus();
    test_render_errors();
    test_names();
    test_against_the_v3_tokenizer();
    test_detection();
    return check_finish("test_chat");
}

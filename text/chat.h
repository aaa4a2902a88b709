/* chat.h: prompt text from a list of chat messages, in the format each checkpoint was
 * trained on (DeepSeek-V3, R1 and its distills, V2, and DeepSeek-LLM as Janus uses it), and
 * the choice of that format from a checkpoint's files. No Jinja: the templates are written
 * out here and recognised by substrings. The prompt starts with BOS written as text, so
 * encode it with tok_encode(..., add_bos = 0) or BOS appears twice. */
#ifndef VKSEEK_CHAT_H
#define VKSEEK_CHAT_H

#include <stddef.h>

typedef struct tokenizer tokenizer;

#define CHAT_MAX_MESSAGES 65536
#define CHAT_MAX_PROMPT_BYTES ((size_t)256 << 20)
#define CHAT_MAX_SPECIAL 64 /* bytes of a BOS/EOS token string, NUL included */

typedef enum { CHAT_SYSTEM, CHAT_USER, CHAT_ASSISTANT } chat_role;

typedef struct {
    chat_role role;
    const char *content; /* UTF-8, NUL-terminated; NULL is "" */
} chat_msg;

typedef enum {
    CHAT_DEEPSEEK_V3, /* {bos}{systems joined by \n\n}<｜User｜>u<｜Assistant｜>a{eos}...<｜Assistant｜> */
    CHAT_DEEPSEEK_R1, /* as V3; earlier answers keep only the text after their last </think>,
                         and the generation prompt is <｜Assistant｜><think>\n */
    CHAT_DEEPSEEK_V2, /* {bos}{system}\n\nUser: u\n\nAssistant: a{eos}User: ...Assistant: */
    CHAT_JANUS,       /* DeepSeek-LLM conversation.py ("deepseek" style) with Janus-Pro's roles:
                         bos + strip("{system}\n\n<|User|>: u\n\n<|Assistant|>: a{eos}...<|Assistant|>:") */
} chat_template;

/* The understanding system prompt Janus' VLChatProcessor uses (pass it as the system
 * message; image generation uses none). */
#define CHAT_JANUS_SYSTEM_PROMPT                                                          \
    "You are a helpful language and vision assistant. You are able to understand the "   \
    "visual content that the user provides, and assist the user with a variety of tasks " \
    "using natural language."

/* BOS and EOS as the template writes them. */
typedef struct {
    char bos[CHAT_MAX_SPECIAL]; /* "" when the tokenizer has none */
    char eos[CHAT_MAX_SPECIAL];
} chat_specials;

/* The DeepSeek strings <｜begin▁of▁sentence｜> and <｜end▁of▁sentence｜>: what V3, R1, V2,
 * Janus and the R1 distills all use. */
chat_specials chat_specials_deepseek(void);
/* The BOS/EOS strings of a loaded tokenizer (R1 distills carry their own). */
int chat_specials_from_tokenizer(const tokenizer *t, chat_specials *sp, char *err, size_t errlen);

/* Renders msgs[0..n) with template t; with add_generation_prompt the text ends where the
 * assistant's reply begins. sp NULL = chat_specials_deepseek(). On success *out is a
 * malloc'd NUL-terminated string of *out_len bytes (free it). Errors: an unknown role or
 * template, invalid UTF-8 in a message (with its index and byte offset), more than
 * CHAT_MAX_MESSAGES messages or CHAT_MAX_PROMPT_BYTES of prompt. Only the first n
 * messages are read; tool roles and tool calls are not supported. */
int chat_render(chat_template t, const chat_msg *msgs, int n, int add_generation_prompt,
                const chat_specials *sp, char **out, size_t *out_len, char *err, size_t errlen);

/* Whether the generation prompt of t opens a think block, so the reply starts inside the
 * reasoning with no <think> of its own (R1: yes). */
int chat_template_opens_think(chat_template t);

/* "deepseek-v3", "deepseek-r1", "deepseek-v2", "janus". */
const char *chat_template_name(chat_template t);
/* The override by name: the names above. An unknown name is an error listing them. */
int chat_template_by_name(const char *name, chat_template *t, char *err, size_t errlen);

/* Recognises the family of a tokenizer_config.json chat_template (Jinja text; NULL or ""
 * when there is none) and config.json model_type (NULL when unknown):
 *   model_type multi_modality / janus                    -> janus
 *   template with <｜Assistant｜> and </think>           -> deepseek-r1
 *   template with <｜Assistant｜>                        -> deepseek-v3
 *   template with 'Assistant: ' or "Assistant: "          -> deepseek-v2
 *   template with <|Assistant|>                          -> janus
 *   no template: model_type deepseek_v3 -> v3, deepseek_v2 -> v2
 * Anything else is an error naming what was seen (pick a template by name then), and so is
 * the DeepSeek-V3.1 thinking-mode template, which none of the formats here match. */
int chat_template_detect(const char *jinja, const char *model_type, chat_template *t,
                         char *err, size_t errlen);

/* chat_template_detect on a model directory: the chat_template of tokenizer_config.json
 * (a string, or the entry named "default" of a list), else of chat_template.jinja, and
 * the model_type of config.json; missing files count as absent, broken ones are errors. */
int chat_template_for_model(const char *model_dir, chat_template *t, char *err, size_t errlen);

#endif

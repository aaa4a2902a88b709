/* request.h: the bodies of POST /v1/chat/completions and /v1/images/generations, read into
 * plain requests with every field checked and bounded. No HTTP and no model here: what the
 * server knows of its model comes in a req_model, so the fuzzer drives the same code. */
#ifndef VKSEEK_SERVE_REQUEST_H
#define VKSEEK_SERVE_REQUEST_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>
#include "engine/generate.h"
#include "gallery/gallery.h"
#include "text/chat.h"

#define SERVE_MAX_PICTURES 8      /* pictures in one chat request */
#define SERVE_MAX_STOP 16         /* stop strings */
#define SERVE_MAX_PROMPT_BYTES 4000 /* an image prompt */

typedef struct {
    const char *id;     /* the model's name, for messages */
    chat_template tmpl;
    int picture_size;   /* side of the understanding tower's input; 0: no pictures */
    int image_size;     /* side of generated images; 0: the model makes none */
    int ctx;            /* context positions: max_tokens beyond it means "until full" */
    int max_images;     /* n of one image request */
    const gallery *g;   /* where /gallery/ID.png URLs point; NULL refuses them */
} req_model;

typedef struct {
    chat_msg *msgs;
    char **texts;                 /* owned message texts */
    int n;
    float *pixels;                /* [n_pictures][3][S][S] */
    int n_pictures;
    gen_params gp;
    char *stop[SERVE_MAX_STOP];
    int stream, include_usage;
} chat_req;

typedef struct {
    const char *prompt;           /* inside the cJSON it was read from */
    int n, b64;
    double seed, cfg, temperature; /* seed < 0: none given */
} image_req;

/* q's fields into r (zeroed by the caller). 0, or -1 with err and the offending field in
 * param (64 bytes). Free r with chat_req_free either way. */
int chat_req_parse(const cJSON *q, const req_model *m, chat_req *r, char *param, char *err,
                   size_t errlen);
void chat_req_free(chat_req *r);

int image_req_parse(const cJSON *q, const req_model *m, image_req *r, char *param, char *err,
                    size_t errlen);

/* Base64 (standard or URL alphabet, padding optional, no whitespace) into a new buffer. */
int base64_decode(const char *s, size_t n, uint8_t **out, size_t *out_len);
char *base64_encode(const uint8_t *p, size_t n);

#endif

/* cli.h: the subcommands of the vkseek binary. Each returns the process exit code. */
#ifndef VKSEEK_CLI_H
#define VKSEEK_CLI_H

#include <stddef.h>
#include "engine/model.h"

int cmd_devices(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_logits(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_chat(int argc, char **argv);
int cmd_ask(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_view(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_detokenize(int argc, char **argv);

/* Prints "vkseek: <message>" to stderr; returns 1 (the exit code for errors). */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The startup line, on a terminal: the model, the device and the memory it will take. */
void cli_loaded(const model *m);
/* Parses --device N from argv (removing it); -1 when absent. Returns -2 on a bad value. */
int cli_device_arg(int *argc, char **argv);
/* Parses --kv-cache f16|f32 from argv (removing it): 1 for f32, 0 for f16 or when absent,
 * -2 on a bad value. */
int cli_kv_cache_arg(int *argc, char **argv);
/* The model directory: given (--model) if not NULL, else $VKSEEK_MODEL, else the built-in
 * model (buf holds its path). NULL, with the error printed, when there is none. */
const char *cli_model_dir(const char *given, char *buf, size_t len);

#endif

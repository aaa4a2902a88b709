/* checkpoint.h: the tensors of a checkpoint directory as published: one model.safetensors
 * or pytorch_model.bin, or the shards their *.index.json lists. Every shard is mapped
 * read-only and validated on open; names are looked up by hash. */
#ifndef VKSEEK_CHECKPOINT_H
#define VKSEEK_CHECKPOINT_H

#include "engine/tensor_file.h"

#define CKPT_MAX_SHARDS 4096

typedef struct checkpoint checkpoint;

int ckpt_open(const char *dir, checkpoint **out, char *err, size_t errlen);
void ckpt_close(checkpoint *c);
int ckpt_count(const checkpoint *c);
const tf_tensor *ckpt_tensor(const checkpoint *c, int i);
/* NULL when absent. */
const tf_tensor *ckpt_find(const checkpoint *c, const char *name);
/* Which shard (0-based) holds tensor i, and how many shards there are: the loader uploads
 * shard by shard. */
int ckpt_shard_of(const checkpoint *c, int i);
int ckpt_shards(const checkpoint *c);
/* 0 (err set) when a shard's file shrank or failed to read while mapped (tf_intact), so
 * what was read from it cannot be trusted; else 1. Loaders call it when done. */
int ckpt_intact(const checkpoint *c, char *err, size_t errlen);
/* The file a shard was read from (for messages). */
const char *ckpt_shard_path(const checkpoint *c, int shard);

#endif

/* torch_bin.h: the tensors of a PyTorch checkpoint (pytorch_model.bin: torch.save of a
 * state_dict, a zip of data.pkl and raw storages), read in place from a read-only mapping.
 * No Python and nothing from the file is executed; legacy (pre-1.6, non-zip) files and
 * compressed entries are refused. */
#ifndef VKSEEK_TORCH_BIN_H
#define VKSEEK_TORCH_BIN_H

#include <stddef.h>
#include "engine/tensor_file.h"

#define TORCH_BIN_MAX_TENSORS (1 << 20)

typedef struct torch_bin torch_bin;

/* Maps path and indexes its state_dict. 0 ok; -1 with "path: reason" in err. */
int torch_bin_open(const char *path, torch_bin **out, char *err, size_t errlen);
/* Tensors in state_dict order. */
int torch_bin_count(const torch_bin *b);
/* Tensor i, or NULL when i is out of range. data points into the mapping, which lives until
 * torch_bin_close; tensors that share a storage (tied weights) share bytes. */
const tf_tensor *torch_bin_tensor(const torch_bin *b, int i);
void torch_bin_close(torch_bin *b);

#endif

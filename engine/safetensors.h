/* safetensors.h: a read-only, memory-mapped safetensors file. The header is validated in
 * full on open (size, JSON, every dtype and shape against its byte range, ranges inside the
 * data and not overlapping); tensors then point into the mapping. */
#ifndef VKSEEK_SAFETENSORS_H
#define VKSEEK_SAFETENSORS_H

#include "engine/tensor_file.h"

#define ST_MAX_HEADER (100u << 20)   /* bytes of JSON header accepted */
#define ST_MAX_TENSORS 1000000

typedef struct safetensors safetensors;

int st_open(const char *path, safetensors **out, char *err, size_t errlen);
int st_count(const safetensors *s);
const tf_tensor *st_tensor(const safetensors *s, int i);
void st_close(safetensors *s);

#endif

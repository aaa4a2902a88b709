/* npy.h: reads the golden .npy arrays (little-endian f4/i4 or u1, C order, format 1.0-3.0). */
#ifndef VKSEEK_TEST_NPY_H
#define VKSEEK_TEST_NPY_H

#include <stdint.h>

typedef struct {
    int n_dims;
    int64_t shape[8];
    int64_t n;          /* elements */
    int is_int;         /* i4 data (converted to float in f as well) */
    int is_u8;          /* u1 data (pictures), converted to float in f */
    float *f;           /* the values as f32 */
    int32_t *i;         /* the values as i32 when is_int, else NULL */
} npy;

/* 0 ok; -1 on any problem (printed). */
int npy_load(const char *path, npy *a);
void npy_free(npy *a);

#endif

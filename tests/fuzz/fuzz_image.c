/* fuzz_image.c: PNG and JPEG decoding (uploads and files): a decoded picture has the size it
 * says and every pixel is readable. */
#include <stdlib.h>
#include "tests/fuzz/fuzz.h"
#include "vision/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    image im;
    char err[512];
    if (image_decode("upload", data, size, &im, err, sizeof err)) return 0;
    if (im.w < 1 || im.h < 1 || !im.rgb) abort();
    (void)*(volatile uint8_t *)&im.rgb[(size_t)im.w * im.h * 3 - 1];
    image_free(&im);
    return 0;
}

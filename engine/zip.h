/* zip.h: a read-only index of a zip archive held in memory (a tf_map), enough for PyTorch
 * checkpoints: zip64 included, stored (method 0) entries returned as pointers into the
 * mapping. It never inflates, decrypts or writes; compressed, encrypted and multi-disk
 * archives are refused, and every offset and size is checked against the buffer. */
#ifndef VKSEEK_ZIP_H
#define VKSEEK_ZIP_H

#include <stddef.h>
#include <stdint.h>

#define ZIP_MAX_ENTRIES (1 << 20)

typedef struct {
    char *name;             /* NUL-terminated, as the central directory spells it */
    uint16_t method;        /* 0 = stored; anything else is refused by zip_data */
    uint16_t flags;         /* general purpose bits; bit 0 = encrypted */
    uint64_t comp_size;     /* bytes of data in the archive */
    uint64_t size;          /* bytes once extracted */
    uint64_t local_offset;  /* of the entry's local header */
} zip_entry;

typedef struct zip_archive zip_archive;

/* Indexes the central directory of data[0, size). label names the file in messages.
 * 0 ok; -1 with "label: reason" in err. data must outlive the archive. */
int zip_open(const uint8_t *data, uint64_t size, const char *label, zip_archive **out,
             char *err, size_t errlen);
int zip_count(const zip_archive *z);
const zip_entry *zip_entry_at(const zip_archive *z, int i);
/* Index of the entry called name, or -1. */
int zip_find(const zip_archive *z, const char *name);
/* The bytes of stored entry i, inside the buffer given to zip_open. 0 ok; -1 with err. */
int zip_data(const zip_archive *z, int i, const uint8_t **data, uint64_t *size, char *err,
             size_t errlen);
void zip_close(zip_archive *z);

#endif

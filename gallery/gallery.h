/* gallery.h: the saved-image gallery: a directory of PNG files named by id, and an
 * append-only index (index.jsonl, one JSON object per line, oldest first) with each image's
 * prompt and settings. A picture is written to a temporary name and renamed before its index
 * line is appended, so the index never names a missing or partial file; a line that fails
 * to append removes its picture again. Ids are 16 lowercase hex digits, never paths.
 * Thread-safe. */
#ifndef VKSEEK_GALLERY_H
#define VKSEEK_GALLERY_H

#include <stdint.h>
#include "vision/image.h"

#define GALLERY_ID_LEN 16

typedef struct gallery gallery;

typedef struct {
    char id[GALLERY_ID_LEN + 1];
    char *prompt, *model;       /* owned by the entry */
    uint64_t seed;
    double cfg, temperature;
    int64_t created;            /* Unix seconds */
} gallery_entry;

/* Opens (creating it and its parents) the gallery at dir. NULL with err set. */
gallery *gallery_open(const char *dir, char *err, size_t errlen);
void gallery_close(gallery *g);
const char *gallery_dir(const gallery *g);

/* Saves im with e's settings (its id and created are filled in here) as a PNG carrying
 * them in text chunks, and indexes it. 0, or -1 with err set and nothing left behind. */
int gallery_add(gallery *g, const image *im, gallery_entry *e, char *err, size_t errlen);

/* The file of an id: 0, or -1 when id is not GALLERY_ID_LEN lowercase hex digits. */
int gallery_path(const gallery *g, const char *id, char *path, size_t n);

/* Up to max entries, newest first, from the index (unreadable lines skipped). Returns the
 * count (*out owned by the caller: gallery_entries_free), or -1 with err set. */
int gallery_list(gallery *g, int max, gallery_entry **out, char *err, size_t errlen);
void gallery_entries_free(gallery_entry *e, int n);

#endif

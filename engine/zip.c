/* zip.c: read-only zip index (APPNOTE 6.3): end record search, zip64 end record and
 * locator, central directory with zip64 extra fields, local headers. Reads only inside the
 * buffer it is given and trusts no offset, size or count until it has been bounded. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "engine/zip.h"

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_END 0x06054b50u
#define SIG_END64 0x06064b50u
#define SIG_LOC64 0x07064b50u
#define END_SIZE 22u
#define CENTRAL_SIZE 46u
#define LOCAL_SIZE 30u
#define LOC64_SIZE 20u
#define END64_SIZE 56u

struct zip_archive {
    char *label;
    const uint8_t *data;
    uint64_t size;
    uint64_t cd_offset;     /* entries' headers and data all lie before this */
    int n;
    zip_entry *entries;
    const zip_entry **by_name; /* entries sorted by name, for zip_find */
};

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p) { return (uint32_t)rd16(p) | (uint32_t)rd16(p + 2) << 16; }
static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }

static const char *method_name(unsigned m)
{
    switch (m) {
    case 8: return "deflate";
    case 9: return "deflate64";
    case 12: return "bzip2";
    case 14: return "lzma";
    case 93: return "zstd";
    case 95: return "xz";
    default: return "unknown";
    }
}

/* The end of central directory record: the last signature in the final 64 KiB + 22 bytes
 * whose comment length reaches exactly the end of the file (so a signature inside a
 * comment is not mistaken for the record). Returns its offset or -1. */
static int64_t find_end(const uint8_t *d, uint64_t size)
{
    if (size < END_SIZE) return -1;
    uint64_t lo = size > END_SIZE + 0xffffu ? size - END_SIZE - 0xffffu : 0;
    for (uint64_t pos = size - END_SIZE + 1; pos-- > lo;) {
        if (rd32(d + pos) == SIG_END && pos + END_SIZE + rd16(d + pos + 20) == size)
            return (int64_t)pos;
    }
    return -1;
}

/* Replaces the 0xffff... placeholders of a central entry with the zip64 extra field's
 * values, which appear in APPNOTE order and only for the fields that overflowed. */
static int read_zip64_extra(const zip_archive *z, const uint8_t *ex, uint32_t exlen,
                            zip_entry *e, uint32_t *disk, char *err, size_t errlen)
{
    int need_size = e->size == 0xffffffffu, need_comp = e->comp_size == 0xffffffffu;
    int need_off = e->local_offset == 0xffffffffu, need_disk = *disk == 0xffffu;
    uint32_t p = 0;
    while (exlen - p >= 4) {
        uint16_t id = rd16(ex + p), len = rd16(ex + p + 2);
        if (len > exlen - p - 4) {
            snprintf(err, errlen, "%s: zip entry '%s': extra field runs past its header",
                     z->label, e->name);
            return -1;
        }
        const uint8_t *f = ex + p + 4;
        if (id == 0x0001) {
            uint32_t want = 8u * (uint32_t)(need_size + need_comp + need_off) + 4u * need_disk;
            if (len < want) {
                snprintf(err, errlen, "%s: zip entry '%s': zip64 extra field too short (%u < %u)",
                         z->label, e->name, len, want);
                return -1;
            }
            if (need_size) e->size = rd64(f), f += 8;
            if (need_comp) e->comp_size = rd64(f), f += 8;
            if (need_off) e->local_offset = rd64(f), f += 8;
            if (need_disk) *disk = rd32(f);
            return 0;
        }
        p += 4u + len;
    }
    if (need_size || need_comp || need_off || need_disk) {
        snprintf(err, errlen, "%s: zip entry '%s': zip64 sizes without a zip64 extra field",
                 z->label, e->name);
        return -1;
    }
    return 0;
}

static int read_central(zip_archive *z, uint64_t cd_size, uint64_t n, char *err, size_t errlen)
{
    const uint8_t *d = z->data;
    uint64_t p = z->cd_offset, end = z->cd_offset + cd_size;
    z->entries = calloc(n ? n : 1, sizeof *z->entries);
    if (!z->entries) {
        snprintf(err, errlen, "%s: out of memory for %llu zip entries", z->label,
                 (unsigned long long)n);
        return -1;
    }
    for (uint64_t i = 0; i < n; i++) {
        if (end - p < CENTRAL_SIZE || rd32(d + p) != SIG_CENTRAL) {
            snprintf(err, errlen, "%s: zip central directory entry %llu is corrupt", z->label,
                     (unsigned long long)i);
            return -1;
        }
        const uint8_t *h = d + p;
        uint32_t nlen = rd16(h + 28), exlen = rd16(h + 30), clen = rd16(h + 32);
        if (end - p - CENTRAL_SIZE < (uint64_t)nlen + exlen + clen) {
            snprintf(err, errlen, "%s: zip central directory entry %llu runs past the directory",
                     z->label, (unsigned long long)i);
            return -1;
        }
        zip_entry *e = &z->entries[i];
        z->n = (int)i + 1; /* so zip_close frees this name even if the entry fails below */
        if (memchr(h + CENTRAL_SIZE, 0, nlen) || !(e->name = malloc(nlen + 1u))) {
            snprintf(err, errlen, "%s: zip entry %llu has a bad name", z->label,
                     (unsigned long long)i);
            return -1;
        }
        memcpy(e->name, h + CENTRAL_SIZE, nlen);
        e->name[nlen] = 0;
        e->flags = rd16(h + 8);
        e->method = rd16(h + 10);
        e->comp_size = rd32(h + 20);
        e->size = rd32(h + 24);
        e->local_offset = rd32(h + 42);
        uint32_t disk = rd16(h + 34);
        if (read_zip64_extra(z, h + CENTRAL_SIZE + nlen, exlen, e, &disk, err, errlen)) return -1;
        if (disk != 0) {
            snprintf(err, errlen, "%s: zip entry '%s' is on disk %u (multi-disk archives are "
                     "not supported)", z->label, e->name, disk);
            return -1;
        }
        /* Header and data both precede the central directory. */
        if (e->local_offset > z->cd_offset || z->cd_offset - e->local_offset < LOCAL_SIZE ||
            e->comp_size > z->cd_offset - e->local_offset - LOCAL_SIZE) {
            snprintf(err, errlen, "%s: zip entry '%s': local header offset %llu + %llu bytes "
                     "runs past the central directory at %llu", z->label, e->name,
                     (unsigned long long)e->local_offset, (unsigned long long)e->comp_size,
                     (unsigned long long)z->cd_offset);
            return -1;
        }
        p += CENTRAL_SIZE + nlen + exlen + clen;
    }
    if (p != end) {
        snprintf(err, errlen, "%s: zip central directory is %llu bytes but its %llu entries "
                 "take %llu", z->label, (unsigned long long)cd_size, (unsigned long long)n,
                 (unsigned long long)(p - z->cd_offset));
        return -1;
    }
    return 0;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp((*(const zip_entry *const *)a)->name, (*(const zip_entry *const *)b)->name);
}

static int index_names(zip_archive *z, char *err, size_t errlen)
{
    z->by_name = malloc((size_t)(z->n ? z->n : 1) * sizeof *z->by_name);
    if (!z->by_name) {
        snprintf(err, errlen, "%s: out of memory", z->label);
        return -1;
    }
    for (int i = 0; i < z->n; i++) z->by_name[i] = &z->entries[i];
    qsort(z->by_name, (size_t)z->n, sizeof *z->by_name, cmp_name);
    for (int i = 1; i < z->n; i++) {
        const char *a = z->by_name[i - 1]->name, *b = z->by_name[i]->name;
        if (strcmp(a, b) == 0) { /* two entries with one name: which one is meant is unclear */
            snprintf(err, errlen, "%s: zip entry '%s' appears twice", z->label, a);
            return -1;
        }
    }
    return 0;
}

static int parse(zip_archive *z, char *err, size_t errlen)
{
    const uint8_t *d = z->data;
    int64_t endpos = find_end(d, z->size);
    if (endpos < 0) {
        snprintf(err, errlen, "%s: no zip end of central directory record (not a zip archive, "
                 "or truncated)", z->label);
        return -1;
    }
    uint64_t pos = (uint64_t)endpos, limit = pos;
    const uint8_t *e = d + pos;
    uint64_t disk = rd16(e + 4), cd_disk = rd16(e + 6), n_disk = rd16(e + 8), n = rd16(e + 10);
    uint64_t cd_size = rd32(e + 12), cd_off = rd32(e + 16);
    if (pos >= LOC64_SIZE && rd32(d + pos - LOC64_SIZE) == SIG_LOC64) {
        const uint8_t *loc = d + pos - LOC64_SIZE;
        uint64_t off = rd64(loc + 8);
        if (rd32(loc + 4) != 0 || rd32(loc + 16) > 1) {
            snprintf(err, errlen, "%s: multi-disk zip64 archives are not supported", z->label);
            return -1;
        }
        if (off > pos - LOC64_SIZE || pos - LOC64_SIZE - off < END64_SIZE ||
            rd32(d + off) != SIG_END64) {
            snprintf(err, errlen, "%s: zip64 end of central directory record missing at "
                     "offset %llu", z->label, (unsigned long long)off);
            return -1;
        }
        const uint8_t *r = d + off;
        uint64_t rsize = rd64(r + 4); /* counts the bytes after its first 12 */
        if (rsize < END64_SIZE - 12 || rsize > pos - LOC64_SIZE - off - 12) {
            snprintf(err, errlen, "%s: zip64 end record size %llu is corrupt", z->label,
                     (unsigned long long)rsize);
            return -1;
        }
        disk = rd32(r + 16), cd_disk = rd32(r + 20), n_disk = rd64(r + 24), n = rd64(r + 32);
        cd_size = rd64(r + 40), cd_off = rd64(r + 48);
        limit = off;
    } else if (n == 0xffffu || cd_size == 0xffffffffu || cd_off == 0xffffffffu) {
        snprintf(err, errlen, "%s: zip end record needs zip64 but there is no zip64 locator",
                 z->label);
        return -1;
    }
    if (disk != 0 || cd_disk != 0 || n_disk != n) {
        snprintf(err, errlen, "%s: multi-disk zip archives are not supported", z->label);
        return -1;
    }
    if (cd_off > limit || cd_size > limit - cd_off) {
        snprintf(err, errlen, "%s: zip central directory [%llu, +%llu) runs past its end record "
                 "at %llu (truncated or corrupt)", z->label, (unsigned long long)cd_off,
                 (unsigned long long)cd_size, (unsigned long long)limit);
        return -1;
    }
    if (n > ZIP_MAX_ENTRIES || n > cd_size / CENTRAL_SIZE) {
        snprintf(err, errlen, "%s: zip central directory claims %llu entries in %llu bytes",
                 z->label, (unsigned long long)n, (unsigned long long)cd_size);
        return -1;
    }
    z->cd_offset = cd_off;
    if (read_central(z, cd_size, n, err, errlen)) return -1;
    return index_names(z, err, errlen);
}

int zip_open(const uint8_t *data, uint64_t size, const char *label, zip_archive **out,
             char *err, size_t errlen)
{
    *out = NULL;
    zip_archive *z = calloc(1, sizeof *z);
    if (!z || !(z->label = strdup(label))) {
        free(z);
        snprintf(err, errlen, "%s: out of memory", label);
        return -1;
    }
    z->data = data;
    z->size = size;
    if (parse(z, err, errlen)) {
        zip_close(z);
        return -1;
    }
    *out = z;
    return 0;
}

int zip_count(const zip_archive *z) { return z->n; }

const zip_entry *zip_entry_at(const zip_archive *z, int i)
{
    return i >= 0 && i < z->n ? &z->entries[i] : NULL;
}

int zip_find(const zip_archive *z, const char *name)
{
    int lo = 0, hi = z->n;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2, c = strcmp(z->by_name[mid]->name, name);
        if (c == 0) return (int)(z->by_name[mid] - z->entries);
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return -1;
}

int zip_data(const zip_archive *z, int i, const uint8_t **data, uint64_t *size, char *err,
             size_t errlen)
{
    const zip_entry *e = zip_entry_at(z, i);
    if (!e) {
        snprintf(err, errlen, "%s: no zip entry %d", z->label, i);
        return -1;
    }
    if (e->flags & 1u) {
        snprintf(err, errlen, "%s: zip entry '%s' is encrypted", z->label, e->name);
        return -1;
    }
    if (e->method != 0 || e->comp_size != e->size) {
        snprintf(err, errlen, "%s: zip entry '%s' is compressed (method %u, %s); only stored "
                 "entries can be read in place", z->label, e->name, e->method,
                 method_name(e->method));
        return -1;
    }
    /* read_central bounded local_offset + LOCAL_SIZE + comp_size by cd_offset. */
    const uint8_t *h = z->data + e->local_offset;
    uint64_t nlen = rd16(h + 26), exlen = rd16(h + 28);
    uint64_t start = e->local_offset + LOCAL_SIZE + nlen + exlen;
    if (rd32(h) != SIG_LOCAL || rd16(h + 8) != e->method || nlen != strlen(e->name) ||
        start > z->cd_offset || memcmp(h + LOCAL_SIZE, e->name, nlen) != 0) {
        snprintf(err, errlen, "%s: zip entry '%s': local header at %llu is corrupt or does not "
                 "match the central directory", z->label, e->name,
                 (unsigned long long)e->local_offset);
        return -1;
    }
    if (e->size > z->cd_offset - start) {
        snprintf(err, errlen, "%s: zip entry '%s': data [%llu, +%llu) runs past the central "
                 "directory at %llu", z->label, e->name, (unsigned long long)start,
                 (unsigned long long)e->size, (unsigned long long)z->cd_offset);
        return -1;
    }
    *data = z->data + start;
    *size = e->size;
    return 0;
}

void zip_close(zip_archive *z)
{
    if (!z) return;
    for (int i = 0; i < z->n; i++) free(z->entries[i].name);
    free(z->entries);
    free(z->by_name);
    free(z->label);
    free(z);
}

/* Avro 1.11 binary encoding and object container files (prefix avro_).
 * Design note: docs/iceberg-manifests.md.
 *
 * Written from the Avro 1.11 specification for Iceberg manifests: Debian's avro-c drops
 * custom schema attributes ("field-id", "element-id", ...), which Iceberg needs.
 *
 *   - Encoding helpers append one value in Avro binary form to an ig_buf. The writer is
 *     driven by the caller emitting values in schema order; nothing checks the values
 *     against the schema (our own code writes them, and tests read them back).
 *   - avro_writer writes an object container file: header (magic "Obj\x01", metadata map
 *     with avro.schema, avro.codec and extra keys, 16-byte sync marker) and blocks
 *     (object count, byte size, data, sync). Codecs: "null" and "deflate" (raw RFC 1951).
 *   - avro_reader parses a container file held in memory, parses its schema JSON
 *     (keeping field-id / element-id / key-id / value-id) and decodes records
 *     generically into avro_value trees. Hostile files get IG_ECORRUPT (malformed),
 *     IG_ETOOBIG (a cap was reached) or IG_EUNSUPPORTED (valid but not implemented,
 *     e.g. the snappy codec), with a message in the ig_errbuf; never a crash.
 *
 * Errors: 0 or a negative IG_E* code. Nothing here is thread-safe per object. */
#ifndef ICEGATE_AVRO_H
#define ICEGATE_AVRO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "icegate/arena.h"
#include "icegate/buf.h"
#include "icegate/err.h"
#include "icegate/json.h"

/* ---- Binary encoding (append to b; IG_ETOOBIG / IG_ENOMEM from the buffer) ---------- */

int avro_put_long(ig_buf *b, int64_t v);                /* zigzag varint */
int avro_put_int(ig_buf *b, int32_t v);                 /* zigzag varint */
int avro_put_bool(ig_buf *b, bool v);                   /* one byte 0 / 1 */
int avro_put_float(ig_buf *b, float v);                 /* 4 bytes little-endian IEEE 754 */
int avro_put_double(ig_buf *b, double v);               /* 8 bytes little-endian IEEE 754 */
int avro_put_bytes(ig_buf *b, ig_str v);                /* long length, then the bytes */
int avro_put_string(ig_buf *b, ig_str v);               /* same as bytes (UTF-8 not checked) */
int avro_put_fixed(ig_buf *b, const void *p, size_t n); /* the bytes only */
/* A union value: the branch index, then the caller writes the branch's value (nothing for
 * null). */
static inline int avro_put_union(ig_buf *b, int64_t branch)
{
    return avro_put_long(b, branch);
}
/* Arrays and maps are written as one block: avro_put_block(b, n) (skipped when n == 0),
 * the n items (for maps each key string then value), then avro_put_block_end(b). */
static inline int avro_put_block(ig_buf *b, int64_t n)
{
    return n > 0 ? avro_put_long(b, n) : 0;
}
static inline int avro_put_block_end(ig_buf *b)
{
    return avro_put_long(b, 0);
}

/* Decoding primitives over a slice (used by the reader, exposed for tests): *pos advances;
 * IG_ECORRUPT on truncation, a varint longer than 10 bytes (5 for int) or an int out of
 * the 32-bit range. */
int avro_get_long(ig_str in, size_t *pos, int64_t *out);
int avro_get_int(ig_str in, size_t *pos, int32_t *out);

/* ---- Container writer --------------------------------------------------------------- */

typedef enum avro_codec { AVRO_CODEC_NULL = 0, AVRO_CODEC_DEFLATE = 1 } avro_codec;

typedef struct avro_meta {
    const char *key; /* UTF-8, must not start with "avro." */
    ig_str value;
} avro_meta;

typedef struct avro_writer {
    ig_buf *out;  /* borrowed: the file is appended here (its cap applies) */
    ig_buf block; /* owned: encoded objects of the current block */
    ig_buf zbuf;  /* owned: deflate output */
    int64_t block_count;
    int64_t total_count;
    size_t block_target; /* flush a block when it reaches this many bytes */
    avro_codec codec;
    uint8_t sync[16];
    int rc; /* sticky error */
} avro_writer;

/* Starts a container file in `out` (borrowed until avro_writer_free): writes the header
 * with avro.schema = schema_json (copied verbatim; the caller's JSON with its custom
 * attributes), avro.codec and the n extra metadata entries. sync may be NULL (a random
 * marker is drawn). Returns 0, IG_EINVAL (a meta key starting with "avro."), or the
 * buffer's error. The writer must be freed with avro_writer_free in every case. */
int avro_writer_init(avro_writer *w, ig_buf *out, ig_str schema_json, avro_codec codec,
                     const avro_meta *meta, size_t n, const uint8_t sync[16]);
/* The buffer to encode the next object into (append exactly one datum with avro_put_*),
 * then call avro_writer_end_datum. Owned by the writer. */
static inline ig_buf *avro_writer_datum(avro_writer *w)
{
    return &w->block;
}
/* Counts the datum just written; writes out a block once it is large enough. Returns the
 * sticky error, if any (pass the rc of the avro_put_* calls as `put_rc`: a non-zero
 * put_rc becomes the sticky error, as the datum is then incomplete; a caller that wants
 * to drop a failed datum instead truncates avro_writer_datum(w)->len to its length before
 * the datum and does not call this). */
int avro_writer_end_datum(avro_writer *w, int put_rc);
/* Writes the last block. After it, out holds the complete file. */
int avro_writer_finish(avro_writer *w);
/* Frees the writer's own buffers (not out). */
void avro_writer_free(avro_writer *w);

/* ---- Schema ------------------------------------------------------------------------- */

typedef enum avro_kind {
    AVRO_NULL = 0,
    AVRO_BOOLEAN,
    AVRO_INT,
    AVRO_LONG,
    AVRO_FLOAT,
    AVRO_DOUBLE,
    AVRO_BYTES,
    AVRO_STRING,
    AVRO_RECORD,
    AVRO_ENUM,
    AVRO_ARRAY,
    AVRO_MAP,
    AVRO_UNION,
    AVRO_FIXED
} avro_kind;

const char *avro_kind_name(avro_kind k);

typedef struct avro_schema avro_schema;

typedef struct avro_field {
    ig_str name;
    int32_t field_id; /* Iceberg "field-id", -1 when absent */
    const avro_schema *type;
} avro_field;

struct avro_schema {
    avro_kind kind;
    ig_str name;         /* full name of records, enums and fixed */
    ig_str logical_type; /* "logicalType", ptr NULL when absent */
    avro_field *fields;  /* RECORD */
    size_t nfields;
    const avro_schema **branches; /* UNION */
    size_t nbranches;
    const avro_schema *items; /* ARRAY items, MAP values */
    ig_str *symbols;          /* ENUM */
    size_t nsymbols;
    size_t size;              /* FIXED */
    int32_t element_id;       /* ARRAY "element-id", -1 when absent */
    int32_t key_id, value_id; /* MAP "key-id" / "value-id", -1 when absent */
    bool resolving;           /* parse-time: a record whose fields are being parsed */
};

/* Parses a schema JSON text into `a` (everything is arena-owned, and the returned tree
 * views `json`, which must outlive it). Named types may be referenced after their
 * definition (also recursively). IG_ECORRUPT / IG_EUNSUPPORTED with a message. */
int avro_schema_parse(ig_str json, ig_arena *a, const avro_schema **out, ig_errbuf *eb);
/* Index of the record field called name, or -1. */
int avro_schema_field(const avro_schema *rec, const char *name);

/* ---- Values ------------------------------------------------------------------------- */

typedef struct avro_value avro_value;
struct avro_value {
    avro_kind kind;            /* never AVRO_UNION: a union value is its branch's value */
    int32_t branch;            /* union branch index when the schema was a union, else -1 */
    const avro_schema *schema; /* the branch's schema */
    union {
        bool b;
        int64_t l; /* INT, LONG, ENUM (symbol index) */
        float f;
        double d;
        ig_str s; /* BYTES, STRING, FIXED (arena-owned) */
        struct {
            avro_value *items; /* RECORD fields in schema order, ARRAY items, MAP values */
            ig_str *keys;      /* MAP only */
            size_t n;
        } c;
    } u;
};

/* The field `name` of a record value, or NULL (also when v is not a record). */
const avro_value *avro_value_get(const avro_value *v, const char *name);
/* Appends v as JSON (bytes and fixed as lowercase hex strings, NaN/Inf as strings, union
 * values unwrapped). */
void avro_value_to_json(const avro_value *v, json_writer *w);

/* ---- Container reader --------------------------------------------------------------- */

typedef struct avro_reader_opts {
    size_t max_block_bytes; /* one block, compressed or not; 0 = 64 MiB */
    size_t max_items;       /* objects per block and items per array/map; 0 = 1 Mi */
    int max_depth;          /* nesting of schema and values; 0 = 32 */
    size_t max_meta;        /* metadata entries; 0 = 256 */
} avro_reader_opts;

typedef struct avro_reader {
    ig_str in;  /* borrowed: the whole file */
    size_t pos; /* next block */
    avro_reader_opts opts;
    ig_arena arena; /* owns the schema and metadata */
    ig_str *meta_keys, *meta_vals;
    size_t nmeta;
    const avro_schema *schema;
    avro_codec codec;
    uint8_t sync[16];
    ig_buf block; /* owned: the current (decompressed) block */
    size_t block_pos;
    int64_t block_left; /* objects left in the current block */
    int rc;             /* sticky error */
} avro_reader;

/* Parses the header of the container file `in` (borrowed: must outlive the reader).
 * opts may be NULL. On error the reader is still to be closed. */
int avro_reader_open(avro_reader *r, ig_str in, const avro_reader_opts *opts, ig_errbuf *eb);
/* Value of a header metadata key: 0 with *val set (a view valid until close), or
 * IG_ENOENT. */
int avro_reader_meta(const avro_reader *r, const char *key, ig_str *val);
/* The next object: 1 with *out filled (allocated in `a`, which the caller owns and
 * should cap; IG_ETOOBIG / IG_ENOMEM when it is full), 0 at the end of the file, <0 on
 * error (sticky). */
int avro_reader_next(avro_reader *r, ig_arena *a, avro_value *out, ig_errbuf *eb);
void avro_reader_close(avro_reader *r);

#endif

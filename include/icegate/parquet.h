/* IceGate's Parquet reader and writer (prefix pq_). Design note: docs/parquet.md.
 *
 * Overview
 *   - Schema: pq_schema is a flattened Parquet schema (nodes in depth-first order, leaf
 *     columns with their max definition/repetition levels). Build one from an
 *     Iceberg-style field tree with pq_schema_build() (the Iceberg Parquet mapping:
 *     3-level lists `list`/`element`, maps `key_value`/`key`/`value`, field ids on every
 *     node); the reader builds one from the file footer.
 *   - Writer: values are appended per leaf column (pq_put_*), with explicit Dremel levels
 *     for nested columns, or row by row from a pq_value tree (pq_writer_append_row).
 *     Row groups are buffered in memory, encoded (dictionary with fallback, PLAIN,
 *     DELTA_BINARY_PACKED, RLE levels), compressed and streamed to a pq_sink.
 *     pq_writer_close() writes page indexes and the footer and returns per-column
 *     metrics for Iceberg manifests (pq_write_result).
 *   - Reader: pq_open() parses the footer through a ranged-read callback (or a memory
 *     buffer), strictly bounds-checked; pq_rg_may_match() / pq_bloom_check() /
 *     pq_page_select() prune row groups and pages; pq_read_column() decodes one column
 *     chunk (optionally only selected rows) into a pq_colvec (levels + values, with
 *     dictionary indices kept on request); pq_assemble() rebuilds rows as pq_value trees.
 *
 * Errors: functions return 0 or a negative IG_E* code; an ig_errbuf (may be NULL)
 * receives a precise message. Hostile files give IG_ECORRUPT (malformed), IG_ETOOBIG
 * (a cap was reached) or IG_EUNSUPPORTED (valid but not implemented: e.g. LZ4 codec,
 * encryption), never a crash or a wrong answer. Nothing here is thread-safe per object;
 * distinct objects may be used from distinct threads. */
#ifndef ICEGATE_PARQUET_H
#define ICEGATE_PARQUET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "icegate/arena.h"
#include "icegate/buf.h"
#include "icegate/err.h"

/* ---- Enumerations (values are the Parquet Thrift values) --------------------------- */

typedef enum pq_phys {
    PQ_BOOLEAN = 0,
    PQ_INT32 = 1,
    PQ_INT64 = 2,
    PQ_INT96 = 3,
    PQ_FLOAT = 4,
    PQ_DOUBLE = 5,
    PQ_BYTE_ARRAY = 6,
    PQ_FIXED_LEN_BYTE_ARRAY = 7
} pq_phys;

typedef enum pq_codec {
    PQ_CODEC_UNCOMPRESSED = 0,
    PQ_CODEC_SNAPPY = 1,
    PQ_CODEC_GZIP = 2,
    PQ_CODEC_LZO = 3,
    PQ_CODEC_BROTLI = 4,
    PQ_CODEC_LZ4 = 5,
    PQ_CODEC_ZSTD = 6,
    PQ_CODEC_LZ4_RAW = 7
} pq_codec;

typedef enum pq_encoding {
    PQ_ENC_PLAIN = 0,
    PQ_ENC_PLAIN_DICTIONARY = 2,
    PQ_ENC_RLE = 3,
    PQ_ENC_BIT_PACKED = 4,
    PQ_ENC_DELTA_BINARY_PACKED = 5,
    PQ_ENC_DELTA_LENGTH_BYTE_ARRAY = 6,
    PQ_ENC_DELTA_BYTE_ARRAY = 7,
    PQ_ENC_RLE_DICTIONARY = 8,
    PQ_ENC_BYTE_STREAM_SPLIT = 9,
    PQ_ENC_AUTO_ = 100 /* writer option only: dictionary, falling back to PLAIN/DELTA */
} pq_encoding;

typedef enum pq_repetition { PQ_REQUIRED = 0, PQ_OPTIONAL = 1, PQ_REPEATED = 2 } pq_repetition;

/* LogicalType union member ids. */
typedef enum pq_logical {
    PQ_LT_NONE = 0,
    PQ_LT_STRING = 1,
    PQ_LT_MAP = 2,
    PQ_LT_LIST = 3,
    PQ_LT_ENUM = 4,
    PQ_LT_DECIMAL = 5,
    PQ_LT_DATE = 6,
    PQ_LT_TIME = 7,
    PQ_LT_TIMESTAMP = 8,
    PQ_LT_INTEGER = 10,
    PQ_LT_UNKNOWN = 11,
    PQ_LT_JSON = 12,
    PQ_LT_BSON = 13,
    PQ_LT_UUID = 14,
    PQ_LT_FLOAT16 = 15
} pq_logical;

typedef enum pq_unit { PQ_UNIT_NONE = 0, PQ_UNIT_MILLIS = 1, PQ_UNIT_MICROS = 2, PQ_UNIT_NANOS = 3 } pq_unit;

/* Converted types we use or interpret (ConvertedType enum values). */
enum {
    PQ_CT_NONE = -1,
    PQ_CT_UTF8 = 0,
    PQ_CT_MAP = 1,
    PQ_CT_MAP_KEY_VALUE = 2,
    PQ_CT_LIST = 3,
    PQ_CT_ENUM = 4,
    PQ_CT_DECIMAL = 5,
    PQ_CT_DATE = 6,
    PQ_CT_TIME_MILLIS = 7,
    PQ_CT_TIME_MICROS = 8,
    PQ_CT_TIMESTAMP_MILLIS = 9,
    PQ_CT_TIMESTAMP_MICROS = 10,
    PQ_CT_UINT_8 = 11,
    PQ_CT_UINT_16 = 12,
    PQ_CT_UINT_32 = 13,
    PQ_CT_UINT_64 = 14,
    PQ_CT_INT_8 = 15,
    PQ_CT_INT_16 = 16,
    PQ_CT_INT_32 = 17,
    PQ_CT_INT_64 = 18,
    PQ_CT_JSON = 19,
    PQ_CT_BSON = 20,
    PQ_CT_INTERVAL = 21
};

const char *pq_phys_name(pq_phys t);       /* "INT64", ... ("?" if unknown) */
const char *pq_codec_name(pq_codec c);     /* "ZSTD", ... */
const char *pq_encoding_name(int e);       /* "RLE_DICTIONARY", ... */

/* ---- Schema ------------------------------------------------------------------------ */

/* Iceberg types (input of pq_schema_build). */
typedef enum pq_itype {
    PQ_T_BOOLEAN,
    PQ_T_INT,
    PQ_T_LONG,
    PQ_T_FLOAT,
    PQ_T_DOUBLE,
    PQ_T_DATE,
    PQ_T_TIMESTAMP,   /* µs, not adjusted to UTC */
    PQ_T_TIMESTAMPTZ, /* µs, adjusted to UTC */
    PQ_T_STRING,
    PQ_T_BINARY,
    PQ_T_FIXED, /* fixed[fixed_len] */
    PQ_T_UUID,  /* fixed[16] with the UUID logical type */
    PQ_T_STRUCT,
    PQ_T_LIST,
    PQ_T_MAP
} pq_itype;

/* An Iceberg-style field. Structs: children are the fields. Lists: one child, the
 * element (its id is the element-id, its `required` is element-required, its name is
 * ignored). Maps: two children, key then value (ids key-id / value-id; the key is
 * always written required). The tree is only read by pq_schema_build (names are
 * copied), so it may live on the stack or in static storage. */
typedef struct pq_field {
    int32_t id;
    const char *name;
    bool required;
    pq_itype type;
    int32_t fixed_len; /* PQ_T_FIXED only */
    const struct pq_field *children;
    size_t nchildren;
} pq_field;

/* One Parquet SchemaElement, with derived information. */
typedef struct pq_node {
    ig_str name;
    int32_t field_id;
    bool has_field_id;
    int8_t repetition; /* pq_repetition; -1 for the root */
    int8_t phys;       /* pq_phys for leaves, -1 for groups */
    int32_t type_length;
    int32_t converted; /* PQ_CT_* or PQ_CT_NONE */
    int8_t logical;    /* pq_logical */
    bool ts_utc;       /* TIMESTAMP/TIME isAdjustedToUTC */
    int8_t unit;       /* pq_unit for TIMESTAMP/TIME */
    int8_t int_bits;   /* INTEGER bit width */
    bool int_signed;
    int32_t scale, precision; /* DECIMAL */
    int32_t parent;    /* -1 for the root */
    int32_t nchildren;
    int32_t *children; /* node indexes, nchildren of them */
    int16_t def, rep;  /* definition / repetition level reached at this node */
    int32_t col;       /* leaf column index, -1 for groups */
} pq_node;

/* A leaf column. */
typedef struct pq_column {
    int32_t node;
    int16_t max_def, max_rep;
    pq_phys phys;
    int32_t type_length;
    const char *path; /* dotted path without the root, e.g. "attrs.key_value.key" */
    int32_t field_id; /* the leaf node's field id (-1 when absent) */
} pq_column;

/* A schema owns all its memory in `arena`. Immutable after creation. */
typedef struct pq_schema {
    ig_arena arena;
    pq_node *nodes; /* nodes[0] is the root */
    size_t nnodes;
    pq_column *cols;
    size_t ncols;
} pq_schema;

/* Builds a Parquet schema from Iceberg-style top-level fields. Checks names (non-empty),
 * list/map child counts, fixed lengths and duplicate field ids. On success *out is a new
 * schema the caller frees with pq_schema_free. */
int pq_schema_build(const pq_field *fields, size_t nfields, pq_schema **out, ig_errbuf *eb);
void pq_schema_free(pq_schema *s);
/* Leaf column index by dotted path ("attrs.key_value.key"), or -1. */
int pq_schema_find(const pq_schema *s, const char *path);
/* Leaf column index whose leaf node has this field id, or -1. */
int pq_schema_find_field_id(const pq_schema *s, int32_t field_id);
/* Index of the top-level node (child of the root) with this name, or -1. */
int pq_schema_top(const pq_schema *s, ig_str name);
/* Index of the top-level ancestor node of leaf column col. */
int pq_schema_top_of_col(const pq_schema *s, int col);
/* If node is a LIST-annotated group: the element node (3-level lists: the repeated
 * group's only child; legacy 2-level lists: the repeated child itself); else -1. */
int pq_node_list_element(const pq_schema *s, int node);
/* If node is a MAP-annotated group: returns the repeated key_value node and sets *key
 * and *value (-1 when the map has no value column); else -1. */
int pq_node_map_kv(const pq_schema *s, int node, int *key, int *value);

/* ---- Row values (for pq_writer_append_row and pq_assemble) ------------------------- */

typedef enum pq_vkind {
    PQ_V_NULL = 0,
    PQ_V_BOOL,
    PQ_V_INT,    /* INT32, INT64 (also DATE/TIMESTAMP) */
    PQ_V_DOUBLE, /* FLOAT, DOUBLE */
    PQ_V_BYTES,  /* BYTE_ARRAY, FIXED_LEN_BYTE_ARRAY, INT96 (12 raw bytes) */
    PQ_V_LIST,   /* items */
    PQ_V_MAP,    /* items: key0, value0, key1, value1, ... (n = 2 * entries) */
    PQ_V_STRUCT, /* items: one per child node of the group, in schema order; a child
                    that was not projected by pq_assemble is PQ_V_NULL with absent=1 */
} pq_vkind;

typedef struct pq_value {
    uint8_t kind; /* pq_vkind */
    uint8_t absent; /* pq_assemble: column not projected */
    bool b;
    int64_t i;
    double d;
    ig_str s;
    struct pq_value *items;
    size_t n;
} pq_value;

/* ---- Writer ------------------------------------------------------------------------ */

/* Where the writer's bytes go: write(ctx, p, n) must write all n bytes or fail. */
typedef struct pq_sink {
    int (*write)(void *ctx, const void *p, size_t n);
    void *ctx;
} pq_sink;

/* A sink appending to an ig_buf (its cap applies) / writing to a file descriptor. */
pq_sink pq_sink_buf(ig_buf *b);
pq_sink pq_sink_fd(int *fd); /* ctx points at the fd, which the caller keeps open */

typedef struct pq_kv {
    const char *key;
    const char *value;
} pq_kv;

/* Writer options. Zero means "default" everywhere, so `pq_writer_opts o = {0};` works. */
typedef struct pq_writer_opts {
    pq_codec codec;         /* used only when codec_set is true */
    bool codec_set;         /* false: ZSTD (the default codec); true: `codec` */
    int level;              /* ZSTD/GZIP level; 0 = 3 for ZSTD, 6 for GZIP */
    int page_version;       /* 1 or 2; 0 = 2 */
    bool no_dict;           /* disable dictionary encoding */
    bool no_delta;          /* integer fallback uses PLAIN instead of DELTA_BINARY_PACKED */
    bool no_page_index;     /* do not write ColumnIndex/OffsetIndex */
    bool no_stats;          /* do not write statistics */
    size_t dict_max_bytes;  /* dictionary page size limit before fallback; 0 = 1 MiB */
    size_t page_rows;       /* max rows per data page; 0 = 20000 */
    size_t page_bytes;      /* target uncompressed data page size; 0 = 1 MiB */
    size_t row_group_rows;  /* pq_writer_maybe_flush threshold; 0 = 1,048,576 */
    size_t row_group_bytes; /* pq_writer_maybe_flush threshold (buffered bytes); 0 = 128 MiB */
    size_t max_buffer_bytes; /* hard cap on buffered row-group memory; 0 = 2 GiB */
    size_t stats_max_len;   /* binary min/max longer than this are truncated; 0 = 64 */
    double bloom_fpp;       /* bloom filter false-positive rate; 0 = 0.01 */
    size_t bloom_max_bytes; /* bloom filter bitset cap per column chunk; 0 = 1 MiB */
    const char *created_by; /* NULL = "icegate version <v>" */
} pq_writer_opts;

typedef struct pq_writer pq_writer;

/* Creates a writer. `schema` is borrowed and must outlive the writer; the sink is
 * copied. The "PAR1" magic is written at once. The caller frees with pq_writer_free
 * (after pq_writer_close, or to abandon the file). */
int pq_writer_new(pq_writer **out, const pq_schema *schema, const pq_writer_opts *o,
                  pq_sink sink, ig_errbuf *eb);
void pq_writer_free(pq_writer *w);
/* Per-column settings, before the first row group is flushed. enc: PQ_ENC_AUTO_
 * (default), PQ_ENC_PLAIN, PQ_ENC_RLE_DICTIONARY (dictionary, PLAIN fallback),
 * PQ_ENC_DELTA_BINARY_PACKED (INT32/INT64 only), PQ_ENC_BYTE_STREAM_SPLIT (FLOAT/DOUBLE). */
int pq_writer_set_encoding(pq_writer *w, int col, pq_encoding enc);
int pq_writer_set_bloom(pq_writer *w, int col, bool on);
/* Adds a footer key/value (both copied). */
int pq_writer_add_kv(pq_writer *w, const char *key, const char *value);

/* Column-wise appends. For a value: the definition level is the column's max_def and
 * `rep` its repetition level (0 for flat columns and the first value of a row). For a
 * null or an empty/absent ancestor: pq_put_null with the definition level reached
 * (0 for a null top-level optional column) and rep. Values are copied. The physical type
 * must match (pq_put_i32 for INT32, i64 for INT64, f32 FLOAT, f64 DOUBLE, bool BOOLEAN,
 * bytes BYTE_ARRAY / FIXED_LEN_BYTE_ARRAY (length must equal type_length) / INT96).
 * Return IG_EINVAL on a type/level mismatch, IG_ETOOBIG past max_buffer_bytes. */
int pq_put_null(pq_writer *w, int col, int def, int rep);
int pq_put_bool(pq_writer *w, int col, int rep, bool v);
int pq_put_i32(pq_writer *w, int col, int rep, int32_t v);
int pq_put_i64(pq_writer *w, int col, int rep, int64_t v);
int pq_put_f32(pq_writer *w, int col, int rep, float v);
int pq_put_f64(pq_writer *w, int col, int rep, double v);
int pq_put_bytes(pq_writer *w, int col, int rep, const void *p, size_t n);
/* Bulk append of n values to a flat (max_rep == 0) column; valid may be NULL (all
 * present) or n bytes (0 = null, only for optional columns). */
int pq_put_i64_n(pq_writer *w, int col, const int64_t *v, const uint8_t *valid, size_t n);
int pq_put_i32_n(pq_writer *w, int col, const int32_t *v, const uint8_t *valid, size_t n);
int pq_put_f64_n(pq_writer *w, int col, const double *v, const uint8_t *valid, size_t n);

/* Appends one row given as a PQ_V_STRUCT whose items follow the root's children (a
 * NULL kind for a missing optional field). Shreds into levels (Dremel). A null for a
 * required field gives IG_EINVAL naming the field. Calls pq_writer_maybe_flush. */
int pq_writer_append_row(pq_writer *w, const pq_value *row, ig_errbuf *eb);

/* Rows buffered in the current row group (from the first column; columns must agree). */
uint64_t pq_writer_buffered_rows(const pq_writer *w);
/* Bytes of the file so far (flushed row groups; the current one is not counted). */
uint64_t pq_writer_bytes_written(const pq_writer *w);
/* Flushes the buffered rows as one row group (no-op when empty). All columns must hold
 * the same number of rows (IG_EINVAL otherwise). */
int pq_writer_flush(pq_writer *w, ig_errbuf *eb);
/* Flushes when the row-group row or byte threshold is reached. Call between rows. */
int pq_writer_maybe_flush(pq_writer *w, ig_errbuf *eb);

/* Per leaf column metrics over the whole file (Iceberg manifest metrics). Bounds are in
 * the Parquet statistics encoding (little-endian ints/floats, raw bytes for binary,
 * one byte for booleans), which for Iceberg primitive types equals Iceberg's single
 * value serialisation; binary bounds may be truncated (then *_exact is false; a
 * truncated upper bound is still an upper bound). */
typedef struct pq_col_result {
    int32_t field_id;      /* -1 when the leaf has none */
    uint64_t value_count;  /* level entries, nulls included */
    uint64_t null_count;   /* entries with def < max_def */
    uint64_t nan_count;    /* FLOAT/DOUBLE only */
    uint64_t compressed_size;   /* column chunk bytes in the file (headers included) */
    uint64_t uncompressed_size;
    bool has_bounds;
    ig_str lower, upper;   /* owned by the result */
    bool lower_exact, upper_exact;
} pq_col_result;

typedef struct pq_write_result {
    uint64_t file_size;
    uint64_t num_rows;
    size_t nrow_groups;
    uint64_t *row_group_offsets; /* file offset of each row group (Iceberg split_offsets) */
    pq_col_result *cols;         /* one per leaf column */
    size_t ncols;
    ig_arena arena;              /* owns everything above */
} pq_write_result;

/* Flushes, writes bloom filters, page indexes and the footer. If res is not NULL it is
 * filled (free with pq_write_result_free). The writer must still be freed. */
int pq_writer_close(pq_writer *w, pq_write_result *res, ig_errbuf *eb);
void pq_write_result_free(pq_write_result *res);

/* Statistics truncation helpers (also used by the writer): the lower bound is a prefix
 * of at most max bytes; the upper bound is a prefix with its last byte (or for UTF-8
 * strings, code point) incremented so it is still >= every value with that prefix.
 * `utf8` keeps UTF-8 valid. Return the length written to dst (dst holds >= max + 4
 * bytes), or 0 (upper only) when no shorter upper bound exists. */
size_t pq_truncate_lower(const uint8_t *v, size_t n, size_t max, bool utf8, uint8_t *dst);
size_t pq_truncate_upper(const uint8_t *v, size_t n, size_t max, bool utf8, uint8_t *dst);

/* ---- Reader ------------------------------------------------------------------------ */

/* Ranged read: copy exactly n bytes at offset off into dst; return 0 or an IG_E* code. */
typedef struct pq_source {
    int (*read)(void *ctx, uint64_t off, void *dst, size_t n);
    void *ctx;
    uint64_t size; /* file size in bytes */
} pq_source;

typedef struct pq_reader_opts {
    size_t max_footer_bytes; /* 0 = 64 MiB */
    size_t max_page_bytes;   /* cap on one (un)compressed page; 0 = 256 MiB */
    size_t max_vector_bytes; /* cap on one pq_colvec's memory; 0 = 2 GiB */
} pq_reader_opts;

typedef struct pq_stats {
    bool has_min, has_max; /* min/max present (min_value/max_value, or legacy min/max
                              when the order is signed-compatible) */
    ig_str min, max;       /* statistics encoding (slices into the file's arena) */
    bool min_exact, max_exact;
    bool has_null_count;
    int64_t null_count;
    bool has_nan_count;
    int64_t nan_count;
    bool has_distinct;
    int64_t distinct_count;
} pq_stats;

typedef struct pq_chunk {
    pq_phys phys;
    pq_codec codec;
    uint32_t encodings; /* bit (1u << encoding) for every encoding listed */
    int64_t num_values;
    int64_t total_compressed, total_uncompressed;
    int64_t data_page_offset;
    int64_t dict_page_offset; /* -1 when absent */
    int64_t start;            /* first page offset (dictionary or data) */
    pq_stats stats;
    int64_t bloom_offset;     /* -1 when absent */
    int32_t bloom_length;     /* 0 when unknown */
    int64_t offset_index_offset, column_index_offset; /* -1 when absent */
    int32_t offset_index_length, column_index_length;
} pq_chunk;

typedef struct pq_row_group {
    int64_t num_rows;
    int64_t total_byte_size;
    int64_t file_offset; /* -1 when absent */
    pq_chunk *cols;      /* one per leaf column */
} pq_row_group;

typedef struct pq_file {
    pq_schema *schema;
    int64_t num_rows;
    int32_t version;
    pq_row_group *rgs;
    size_t nrgs;
    pq_kv *kv; /* NUL-terminated copies */
    size_t nkv;
    const char *created_by; /* "" when absent */
    bool *type_order;       /* per leaf: column_orders says TypeDefinedOrder */
    pq_source src;
    pq_reader_opts opts;
    ig_arena arena; /* metadata memory */
    const uint8_t *mem; /* the buffer given to pq_open_mem (NULL for ranged reads) */
} pq_file;

/* Opens a file through ranged reads: reads the tail, checks the magic, parses the footer
 * with strict bounds checks (every offset and size is checked against the file size;
 * levels, children counts and paths against the schema). src is copied; src->ctx must
 * stay valid until pq_close. o may be NULL. */
int pq_open(pq_file **out, const pq_source *src, const pq_reader_opts *o, ig_errbuf *eb);
/* Same over a memory buffer that the caller keeps alive and unchanged until pq_close. */
int pq_open_mem(pq_file **out, const void *data, size_t len, const pq_reader_opts *o,
                ig_errbuf *eb);
void pq_close(pq_file *f);
/* Footer key/value lookup (value or NULL). */
const char *pq_file_kv(const pq_file *f, const char *key);

/* A column vector: one column chunk (or the selected rows of it).
 *
 *   n        level entries; def[i]/rep[i] (def NULL when max_def == 0, rep NULL when
 *            max_rep == 0; then every entry is a present value / a new row)
 *   nrows    rows (entries with rep == 0)
 *   nvals    present values (entries with def == max_def), stored densely:
 *            BOOLEAN: vals as uint8_t 0/1; INT32 int32_t; INT64 int64_t; FLOAT float;
 *            DOUBLE double; INT96: 12 bytes each; FIXED_LEN_BYTE_ARRAY: type_length bytes
 *            each; BYTE_ARRAY: value k is data[offs[k] .. offs[k+1]).
 *   is_dict  (only with PQ_READ_KEEP_DICT, when every page read was dictionary-encoded):
 *            vals/offs/data hold the ndict dictionary entries and idx[k] (k < nvals) is
 *            the dictionary index of value k, so a predicate can be evaluated once per
 *            entry.
 * Memory is owned by the vector, reused by the next read into it, released by
 * pq_colvec_free. Initialise with pq_colvec_init (or zero it). */
typedef struct pq_colvec {
    int col;
    pq_phys phys;
    int32_t type_length;
    int16_t max_def, max_rep;
    size_t n, nrows, nvals;
    int16_t *def, *rep;
    void *vals;
    uint32_t *offs;
    uint8_t *data;
    size_t data_len;
    bool is_dict;
    size_t ndict;
    int32_t *idx;
    /* capacities (bytes) of the arrays above; internal */
    size_t cap_def, cap_rep, cap_vals, cap_offs, cap_data, cap_idx;
    size_t max_bytes;
} pq_colvec;

void pq_colvec_init(pq_colvec *v);
void pq_colvec_free(pq_colvec *v);
/* The k-th present value as bytes (BYTE_ARRAY / FIXED / INT96; resolves dictionary). */
ig_str pq_colvec_bytes(const pq_colvec *v, size_t k);
/* Dictionary entry e as bytes / raw pointer to the fixed-width entry. */
ig_str pq_colvec_dict_bytes(const pq_colvec *v, size_t e);
/* Width in bytes of one fixed-width value (0 for BYTE_ARRAY). */
size_t pq_value_width(pq_phys phys, int32_t type_length);
/* The k-th present value of a fixed-width column (resolves the dictionary). */
const void *pq_colvec_fixed(const pq_colvec *v, size_t k);

/* Sorted, non-overlapping row ranges [begin, end) within a row group. */
typedef struct pq_range {
    int64_t begin, end;
} pq_range;
typedef struct pq_rowsel {
    pq_range *r; /* owned (ig_malloc) */
    size_t n, cap;
} pq_rowsel;
void pq_rowsel_free(pq_rowsel *s);
int pq_rowsel_add(pq_rowsel *s, int64_t begin, int64_t end); /* appends, merging */
/* out = a ∩ b (out may not alias a or b). */
int pq_rowsel_intersect(const pq_rowsel *a, const pq_rowsel *b, pq_rowsel *out);
int64_t pq_rowsel_count(const pq_rowsel *s);

enum { PQ_READ_KEEP_DICT = 1 };

/* Decodes column chunk (rg, col). With sel (NULL = all rows), pages that hold no
 * selected row are skipped using the offset index (or, without one, by counting rows)
 * and the output holds exactly the selected rows, in order. */
int pq_read_column(pq_file *f, size_t rg, size_t col, const pq_rowsel *sel, unsigned flags,
                   pq_colvec *out, ig_errbuf *eb);

/* Predicates for pruning. The scalar is in the column's physical domain: i for
 * BOOLEAN(0/1)/INT32/INT64, d for FLOAT/DOUBLE, s for BYTE_ARRAY/FIXED. */
typedef enum pq_op { PQ_OP_EQ, PQ_OP_LT, PQ_OP_LE, PQ_OP_GT, PQ_OP_GE, PQ_OP_IS_NULL, PQ_OP_NOT_NULL } pq_op;
typedef struct pq_pred {
    int col;
    pq_op op;
    int64_t i;
    double d;
    ig_str s;
} pq_pred;

/* Compares two statistics-encoded values of a column by its sort order (signed ints,
 * IEEE floats, unsigned bytes). */
int pq_stat_cmp(pq_phys phys, ig_str a, ig_str b);
/* Encodes a predicate's scalar in the statistics encoding of its column (into tmp,
 * at least 16 bytes); returns the slice. */
ig_str pq_pred_bytes(const pq_file *f, const pq_pred *p, uint8_t *tmp);
/* false when the row group's column statistics prove no row can match. */
bool pq_rg_may_match(const pq_file *f, size_t rg, const pq_pred *p);
/* For an EQ predicate: probes the chunk's bloom filter (one ranged read). *maybe is
 * false only when the value is certainly absent; true when there is no filter. */
int pq_bloom_check(pq_file *f, size_t rg, const pq_pred *p, bool *maybe, ig_errbuf *eb);
/* Row ranges of the pages that may hold a match, from the column index and offset
 * index (all rows when the file has no page index for that column). out is reset. */
int pq_page_select(pq_file *f, size_t rg, const pq_pred *p, pq_rowsel *out, ig_errbuf *eb);

/* Page index access (decoded on demand; memory in the file's arena). */
typedef struct pq_page_loc {
    int64_t offset;
    int32_t size;
    int64_t first_row;
} pq_page_loc;
typedef struct pq_page_index {
    size_t npages;
    pq_page_loc *loc;
    bool has_column_index;
    bool *null_page;
    ig_str *min, *max;
    int64_t *null_counts; /* NULL when absent */
    int boundary_order;
    ig_arena arena; /* owns everything above */
} pq_page_index;
/* Reads and validates the offset index (and column index, when present) of a chunk.
 * IG_ENOENT when the chunk has no offset index. Free with pq_page_index_free. */
int pq_read_page_index(pq_file *f, size_t rg, size_t col, pq_page_index *out, ig_errbuf *eb);
void pq_page_index_free(pq_page_index *pi);

/* Rebuilds rows from column vectors (one per leaf column, NULL for columns not read;
 * every vector given must cover the same rows). For each row, emit(ctx, row) gets a
 * PQ_V_STRUCT over the root's children, allocated in `scratch`, which is reset before
 * every row. Returns the first non-zero emit result, or an error. */
int pq_assemble(const pq_schema *s, pq_colvec *const *cols, ig_arena *scratch,
                int (*emit)(void *ctx, const pq_value *row), void *ctx, ig_errbuf *eb);

#endif

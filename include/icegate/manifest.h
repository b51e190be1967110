/* Iceberg v2 manifests and manifest lists (prefix ig_mf_ / ig_manifest_).
 * Design note: docs/iceberg-manifests.md.
 *
 * Writing. ig_manifest_writer builds one manifest file (Avro, record manifest_entry,
 * field ids as in the Iceberg spec "Manifests") from the table schema JSON and the
 * partition spec JSON; entries are appended one by one and finishing returns the file
 * bytes and an ig_mf_summary (counts, min sequence number, partition field summaries)
 * from which the manifest list entry is made (ig_mf_list_entry_from_summary).
 * ig_manifest_list_write writes a manifest list (record manifest_file).
 *
 * Reading. ig_manifest_reader iterates the entries of a manifest (partition values,
 * metrics and bounds as single-value binary); ig_manifest_list_read returns every entry
 * of a manifest list. Both check the header keys and the field ids they rely on;
 * hostile files give IG_ECORRUPT / IG_ETOOBIG / IG_EUNSUPPORTED with a message.
 *
 * Bounds and partition summaries use Iceberg's single-value binary form (spec Appendix
 * D): int/date 4 bytes LE, long/timestamp 8 bytes LE, string UTF-8 bytes, etc.
 *
 * Null conventions: an ig_str with ptr == NULL is null (absent); an int64 metric < 0 is
 * absent; has_* flags for optional numbers. */
#ifndef ICEGATE_MANIFEST_H
#define ICEGATE_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "icegate/arena.h"
#include "icegate/avro.h"
#include "icegate/buf.h"
#include "icegate/err.h"
#include "icegate/parquet.h"

typedef enum ig_mf_status { IG_MF_EXISTING = 0, IG_MF_ADDED = 1, IG_MF_DELETED = 2 } ig_mf_status;

typedef enum ig_mf_content { IG_MF_CONTENT_DATA = 0, IG_MF_CONTENT_DELETES = 1 } ig_mf_content;

/* A partition value, one per partition spec field, in spec order. */
typedef enum ig_mf_ptype {
    IG_MF_P_NULL = 0,
    IG_MF_P_STRING, /* s */
    IG_MF_P_INT,    /* i: int, date (days; the day transform), hour/month/year transforms */
    IG_MF_P_LONG    /* i: long, timestamp(tz) identity */
} ig_mf_ptype;

typedef struct ig_mf_pvalue {
    ig_mf_ptype type;
    ig_str s;
    int64_t i;
} ig_mf_pvalue;

/* Per-column metrics of a data file, keyed by Iceberg field id. */
typedef struct ig_mf_metric {
    int32_t field_id;
    int64_t column_size; /* bytes; < 0 absent */
    int64_t value_count; /* nulls included; < 0 absent */
    int64_t null_count;  /* < 0 absent */
    int64_t nan_count;   /* float/double only; < 0 absent */
    ig_str lower, upper; /* single-value binary; ptr NULL absent */
} ig_mf_metric;

typedef struct ig_mf_data_file {
    int32_t content;               /* 0 data, 1 position deletes, 2 equality deletes */
    ig_str path;                   /* full URI */
    ig_str format;                 /* ptr NULL: "PARQUET" */
    const ig_mf_pvalue *partition; /* npartition = number of spec fields */
    size_t npartition;
    int64_t record_count;
    int64_t file_size;
    const ig_mf_metric *metrics; /* at most one per field id */
    size_t nmetrics;
    const int64_t *split_offsets; /* ascending; NULL/0 = null */
    size_t nsplit_offsets;
    bool has_sort_order_id;
    int32_t sort_order_id;
    ig_str key_metadata; /* ptr NULL = null */
} ig_mf_data_file;

typedef struct ig_mf_entry {
    ig_mf_status status;
    bool has_snapshot_id;
    int64_t snapshot_id;
    /* null for ADDED (inherited from the manifest list entry); required for EXISTING and
     * DELETED (the writer refuses them without). */
    bool has_sequence_number;
    int64_t sequence_number;
    bool has_file_sequence_number;
    int64_t file_sequence_number;
    ig_mf_data_file file;
} ig_mf_entry;

/* Summary of one partition field over a manifest's entries (manifest list field 507). */
typedef struct ig_mf_field_summary {
    bool contains_null;
    int8_t contains_nan; /* -1 null (not a float type), 0, 1 */
    ig_str lower, upper; /* single-value binary; ptr NULL when every value is null */
} ig_mf_field_summary;

/* What a finished manifest contributes to its manifest list entry. Owns its memory
 * (free with ig_mf_summary_free). */
typedef struct ig_mf_summary {
    int32_t added_files, existing_files, deleted_files;
    int64_t added_rows, existing_rows, deleted_rows;
    bool has_min_seq; /* min explicit data sequence number of live (ADDED/EXISTING) entries */
    int64_t min_seq;
    bool has_inherited; /* a live ADDED entry has a null sequence number (inherits) */
    ig_mf_field_summary *partitions;
    size_t npartitions;
    int32_t spec_id;
    int32_t content;
    ig_arena arena;
} ig_mf_summary;

void ig_mf_summary_free(ig_mf_summary *s);

typedef struct ig_manifest_writer_opts {
    ig_str schema_json; /* the table schema (Iceberg JSON object), stored as "schema" */
    int32_t schema_id;
    /* The partition spec: an object {"spec-id":N,"fields":[...]} or just the fields
     * array. Fields need "name", "transform", "source-id", "field-id". */
    ig_str spec_json;
    int32_t spec_id;
    int format_version; /* must be 2 */
    ig_mf_content content;
    avro_codec codec;
    size_t max_bytes;    /* cap on the manifest size; 0 = 256 MiB */
    const uint8_t *sync; /* 16 bytes, or NULL for a random sync marker (tests) */
} ig_manifest_writer_opts;

typedef struct ig_manifest_writer ig_manifest_writer;

/* Parses the schema and the spec (partition value types are derived from the transform
 * and the source column type: identity on string / int / long / date / timestamp(tz),
 * day / hour / month / year on timestamps and dates) and writes the header. *out is
 * the new writer (free with ig_manifest_writer_free) or NULL on error. The JSON texts
 * are copied. IG_EINVAL / IG_EUNSUPPORTED with a message naming the field. */
int ig_manifest_writer_new(const ig_manifest_writer_opts *opts, ig_manifest_writer **out,
                           ig_errbuf *eb);
/* Appends one entry (copied into the file at once; e keeps no references). IG_EINVAL if
 * the partition values do not match the spec (count or type), sequence numbers are
 * missing on EXISTING/DELETED, or a count is negative: nothing is written and the writer
 * stays usable. IG_ETOOBIG (max_bytes reached) or IG_ENOMEM are sticky: the manifest is
 * to be abandoned. */
int ig_manifest_writer_add(ig_manifest_writer *w, const ig_mf_entry *e, ig_errbuf *eb);
/* Ends the file: appends its bytes to out and fills *sum (sum may be NULL). *sum is
 * zeroed first, so the caller can always free it with ig_mf_summary_free, on error too.
 * The writer is done afterwards (only free). */
int ig_manifest_writer_finish(ig_manifest_writer *w, ig_buf *out, ig_mf_summary *sum,
                              ig_errbuf *eb);
void ig_manifest_writer_free(ig_manifest_writer *w);

/* Builds metrics from a Parquet write result: one per leaf with a field id, column size
 * = compressed bytes, value/null counts, NaN counts for FLOAT/DOUBLE leaves (when
 * schema is given; without it only non-zero NaN counts are kept) and the bounds, which
 * pq_writer_close already gives in single-value form. Memory from a (caller-owned). */
int ig_mf_metrics_from_pq(const pq_write_result *res, const pq_schema *schema, ig_arena *a,
                          ig_mf_metric **out, size_t *n);

/* ---- manifest list ---------------------------------------------------------------- */

typedef struct ig_mf_list_entry {
    ig_str manifest_path;
    int64_t manifest_length;
    int32_t partition_spec_id;
    int32_t content; /* 0 data, 1 deletes */
    int64_t sequence_number;
    int64_t min_sequence_number;
    int64_t added_snapshot_id;
    int32_t added_files_count, existing_files_count, deleted_files_count;
    int64_t added_rows_count, existing_rows_count, deleted_rows_count;
    const ig_mf_field_summary *partitions; /* NULL with has_partitions false = null */
    size_t npartitions;
    bool has_partitions;
    ig_str key_metadata; /* ptr NULL = null */
} ig_mf_list_entry;

/* Fills a list entry for a manifest just written (views into sum and path, which must
 * outlive *e): sequence_number = seq, min_sequence_number = the smallest sequence number
 * of the live files (seq for ADDED entries). */
void ig_mf_list_entry_from_summary(const ig_mf_summary *sum, ig_str path, int64_t length,
                                   int64_t seq, int64_t snapshot_id, ig_mf_list_entry *e);

typedef struct ig_mf_list_meta {
    int64_t snapshot_id;
    bool has_parent;
    int64_t parent_snapshot_id;
    int64_t sequence_number;
    int format_version; /* 2 */
} ig_mf_list_meta;

/* Writes a whole manifest list file (appended to out) with the header keys snapshot-id,
 * parent-snapshot-id ("null" when none), sequence-number and format-version. sync may be
 * NULL (random). */
int ig_manifest_list_write(const ig_mf_list_meta *meta, const ig_mf_list_entry *entries, size_t n,
                           avro_codec codec, const uint8_t *sync, ig_buf *out, ig_errbuf *eb);

/* Reads a manifest list (file borrowed). *entries and everything they point to are in a
 * (caller-owned, should be capped). */
int ig_manifest_list_read(ig_str file, ig_arena *a, ig_mf_list_meta *meta,
                          ig_mf_list_entry **entries, size_t *n, ig_errbuf *eb);

/* ---- manifest reader -------------------------------------------------------------- */

typedef struct ig_manifest_reader {
    avro_reader avro;
    ig_str schema_json, spec_json; /* header "schema" and "partition-spec" (views) */
    int32_t schema_id, spec_id;
    int format_version;
    ig_mf_content content;
    int32_t *part_ids; /* partition field ids (r102 fields), in order */
    size_t npart;
} ig_manifest_reader;

/* Opens a manifest held in memory (file borrowed: it must outlive the reader). Checks the
 * header keys (format-version 2, partition-spec-id, content) and the entry schema. */
int ig_manifest_reader_open(ig_manifest_reader *r, ig_str file, ig_errbuf *eb);
/* Next entry: 1 with *e filled (every pointer in it into a, caller-owned), 0 at the end,
 * <0 on error. */
int ig_manifest_reader_next(ig_manifest_reader *r, ig_arena *a, ig_mf_entry *e, ig_errbuf *eb);
void ig_manifest_reader_close(ig_manifest_reader *r);

#endif

/* Iceberg v2 table metadata: the schema, partition spec and sort order JSON of the four
 * IceGate tables, a writer for a new table's metadata file, a parser for metadata files
 * (what commits and `migrate` need), and a writer for the next version of a metadata file
 * with one snapshot appended. Design note: docs/iceberg.md.
 *
 * Every writer appends compact JSON to a caller-owned ig_buf (capped by the caller) and
 * returns 0 or a negative code (IG_ETOOBIG past the cap, IG_ENOMEM). The exact shapes
 * follow the Iceberg spec v2 ("Table Metadata Fields", Appendix C) and the key order of
 * Java's TableMetadataParser, so files diff cleanly against Java's. */
#ifndef ICEGATE_ICEBERG_H
#define ICEGATE_ICEBERG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "icegate/arena.h"
#include "icegate/buf.h"
#include "icegate/err.h"
#include "icegate/json.h"
#include "icegate/parquet.h"
#include "icegate/tables.h"

/* Partition field ids of every IceGate table (spec-id 0): identity(tenant_id) = 1000,
 * identity(account_id) = 1001, day(timestamp) "timestamp_day" = 1002. */
#define ICE_PART_TENANT 1000
#define ICE_PART_ACCOUNT 1001
#define ICE_PART_DAY 1002
#define ICE_LAST_PARTITION_ID 1002
/* The sort order every IceGate table declares as default (0 is "unsorted"). */
#define ICE_SORT_ORDER_ID 1
/* metadata-log entries kept (Java's write.metadata.previous-versions-max default). */
#define ICE_METADATA_LOG_MAX 100

/* ---- JSON pieces (writers into a json_writer; errors are sticky in w) -------------- */

/* {"type":"struct","schema-id":N,"fields":[...]} from Iceberg-style fields (types
 * string, long, int, boolean, double, float, date, timestamp, timestamptz, binary, uuid,
 * fixed[N], struct, list with element-id/element-required, map with key-id/value-id/
 * value-required). */
void ice_w_schema(json_writer *w, int32_t schema_id, const pq_field *fields, size_t n);
/* The Iceberg type of one field (a string or a nested type object). */
void ice_w_type(json_writer *w, const pq_field *f);
/* Partition spec 0 of table t: {"spec-id":0,"fields":[...]} (source ids looked up by name). */
void ice_w_partition_spec(json_writer *w, ig_table_id t);
/* The sort-orders array of table t: [unsorted order 0, order 1 per DESIGN §3]. */
void ice_w_sort_orders(json_writer *w, ig_table_id t);
/* Table properties: write.format.default=parquet, write.parquet.compression-codec=zstd. */
void ice_w_properties(json_writer *w);

/* Schema JSON of table t as a standalone document (e.g. for the `iceberg.schema` Parquet
 * key-value metadata and the Avro manifest `schema` key). A commit should rather use the
 * table's own current schema and spec (ice_metadata current_schema_json,
 * default_spec_json). */
int ice_schema_json(ig_table_id t, ig_buf *out);
/* Partition spec 0 of table t as a standalone document {"spec-id":0,"fields":[...]}. */
int ice_partition_spec_json(ig_table_id t, ig_buf *out);

/* Metadata JSON of a new, empty table (format-version 2, last-sequence-number 0,
 * current-snapshot-id -1, empty refs/snapshots/logs). uuid: 36 characters; location:
 * absolute URI without a trailing '/'. */
int ice_table_metadata_new(ig_table_id t, const char *uuid, const char *location, int64_t now_ms,
                           ig_buf *out);

/* ---- ids and names ---------------------------------------------------------------- */

/* A random version-4 UUID in canonical lower-case form (36 chars + NUL) from getrandom(2).
 * Returns 0 or IG_EIO. */
int ice_uuid4(char out[37]);
/* A random positive snapshot id below 2^53 (exact in JavaScript readers). 0 or IG_EIO. */
int ice_snapshot_id_new(int64_t *out);
/* Appends "<table_prefix>/metadata/%05d-<uuid>.metadata.json" (table_prefix is a store
 * key like "icegate/logs"). */
int ice_metadata_file_key(ig_buf *out, const char *table_prefix, int version, const char *uuid);
/* Version number parsed from a metadata file name or URI ".../00042-<uuid>.metadata.json"
 * (also "....gz.metadata.json"); -1 if the name does not follow the pattern. */
int ice_metadata_file_version(ig_str location);

/* ---- parsed metadata ---------------------------------------------------------------- */

typedef struct ice_kv {
    ig_str key, value;
} ice_kv;

typedef struct ice_snapshot {
    int64_t snapshot_id;
    int64_t parent_snapshot_id; /* -1: none */
    int64_t sequence_number;
    int64_t timestamp_ms;
    ig_str manifest_list;
    int32_t schema_id; /* -1: absent */
    ig_str operation;  /* summary["operation"] */
    ice_kv *summary;   /* every summary entry, operation included, in file order */
    size_t nsummary;
} ice_snapshot;

typedef struct ice_log_entry {
    int64_t timestamp_ms;
    int64_t snapshot_id;  /* snapshot-log */
    ig_str metadata_file; /* metadata-log */
} ice_log_entry;

/* What a commit (and migrate) needs from a metadata file. Everything (strings, arrays)
 * lives in `arena`, including a copy of the original JSON (`json`) and the raw text of
 * every top-level member (`members`), so a new version can be written that keeps what
 * this parser does not interpret. Free with ice_metadata_free. */
typedef struct ice_metadata {
    ig_arena arena;
    ig_str json;
    int format_version;
    ig_str table_uuid;
    ig_str location;
    int64_t last_sequence_number;
    int64_t last_updated_ms;
    int32_t last_column_id;
    int32_t current_schema_id;
    int32_t default_spec_id;
    int32_t last_partition_id;
    int32_t default_sort_order_id;
    int64_t current_snapshot_id; /* -1: none (also for null or an absent field) */
    ice_snapshot *snapshots;
    size_t nsnapshots;
    ice_log_entry *snapshot_log;
    size_t nsnapshot_log;
    ice_log_entry *metadata_log;
    size_t nmetadata_log;
    ice_kv *properties;
    size_t nproperties;
    ig_str current_schema_json; /* raw JSON of the current schema object */
    ig_str default_spec_json;   /* raw JSON of the default partition spec object */
    /* Every field id of the current schema (nested element/key/value ids included). */
    int32_t *field_ids;
    size_t nfield_ids;
    ice_kv *members; /* top-level members: key, raw JSON value; file order */
    size_t nmembers;
} ice_metadata;

/* Parses a metadata file (format-version 2; 1 is refused with IG_EUNSUPPORTED). Checks the
 * fields v2 requires and their types; IG_ECORRUPT with a message naming the field
 * otherwise. The input is copied, so it may be freed after the call. On error *m is
 * freed already (calling ice_metadata_free again is harmless). */
int ice_metadata_parse(ig_str json, ice_metadata *m, ig_errbuf *eb);
void ice_metadata_free(ice_metadata *m);
/* The snapshot with this id, or NULL. */
const ice_snapshot *ice_metadata_snapshot(const ice_metadata *m, int64_t snapshot_id);
/* Value of a table property, or a NULL ig_str. */
ig_str ice_metadata_property(const ice_metadata *m, const char *key);
/* true if the current schema has this field id. */
bool ice_metadata_has_field_id(const ice_metadata *m, int32_t id);

/* A snapshot to append. The sequence number is base->last_sequence_number + 1, the parent
 * is base->current_snapshot_id, the schema id base->current_schema_id. `summary` holds
 * every entry except "operation" (values are strings). */
typedef struct ice_snapshot_new {
    int64_t snapshot_id;
    int64_t timestamp_ms;
    const char *manifest_list; /* absolute URI */
    const char *operation;     /* append | replace | overwrite | delete */
    const ice_kv *summary;
    size_t nsummary;
} ice_snapshot_new;

/* Writes the next metadata version: base with `snap` appended to snapshots and
 * snapshot-log, current-snapshot-id and refs.main set to it, last-sequence-number
 * incremented, last-updated-ms = max(now_ms, snap->timestamp_ms, last entries), and
 * base_location appended to metadata-log (trimmed to the newest ICE_METADATA_LOG_MAX).
 * A snapshot time older than the last snapshot-log entry is raised to it (the log stays in
 * time order). Every other member is copied verbatim. */
int ice_metadata_write_next(const ice_metadata *base, ig_str base_location,
                            const ice_snapshot_new *snap, int64_t now_ms, ig_buf *out,
                            ig_errbuf *eb);

/* Writes the next metadata version of base without the snapshots in remove[0..nremove)
 * (expire-snapshots; spec "Snapshot Retention Policy", Java TableMetadata.removeSnapshots):
 * they leave `snapshots`; a snapshot-log entry naming a removed (or unknown) snapshot is
 * dropped together with every earlier entry (the log stays a contiguous history); refs
 * pointing at a removed snapshot are dropped, so are `statistics` and
 * `partition-statistics` entries of removed snapshots; base_location is appended to metadata-log
 * (trimmed as in ice_metadata_write_next); last-updated-ms = max(now_ms, base). No new
 * snapshot; current-snapshot-id and last-sequence-number are unchanged. IG_EINVAL if
 * the current snapshot is in the list, IG_ENOENT if an id is not in the table. */
int ice_metadata_write_expire(const ice_metadata *base, ig_str base_location,
                              const int64_t *remove, size_t nremove, int64_t now_ms, ig_buf *out,
                              ig_errbuf *eb);

#endif

/* libFuzzer target for the Iceberg metadata parser (src/table/iceberg_meta.c).
 *
 * 1. ice_metadata_parse must never crash; on error the message is set.
 * 2. A file it accepts must go through ice_metadata_write_next (one snapshot appended), and
 *    the result must parse again with the sequence number, current snapshot and counts
 *    advanced by one. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "icegate/iceberg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ice_metadata m;
    ig_errbuf eb = {{0}};
    int rc = ice_metadata_parse(ig_str_make(data, size), &m, &eb);
    if (rc) {
        if (rc != IG_ENOMEM && !eb.msg[0])
            abort();
        return 0;
    }
    int64_t id = 1;
    while (ice_metadata_snapshot(&m, id))
        id++;
    ice_snapshot_new s = {.snapshot_id = id,
                          .timestamp_ms = 1,
                          .manifest_list = "file:///t/metadata/snap.avro",
                          .operation = "append"};
    ig_buf out;
    ig_buf_init(&out, 0);
    rc = ice_metadata_write_next(&m, IG_STR("file:///t/metadata/00000-x.metadata.json"), &s, 1,
                                 &out, &eb);
    if (rc == 0) {
        ice_metadata n;
        if (ice_metadata_parse(ig_buf_str(&out), &n, &eb) != 0)
            abort();
        if (n.current_snapshot_id != id || n.last_sequence_number != m.last_sequence_number + 1 ||
            n.nsnapshots != m.nsnapshots + 1 || n.nsnapshot_log != m.nsnapshot_log + 1 ||
            n.nfield_ids != m.nfield_ids)
            abort();
        ice_metadata_free(&n);
    }
    ig_buf_free(&out);
    ice_metadata_free(&m);
    return 0;
}

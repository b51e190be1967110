/* Options of the maintenance jobs from the configuration (maintain.* keys). */
#include <string.h>

#include "icegate/maintain_jobs.h"
#include "icegate/time.h"

void ig_mj_expire_opts_from_config(const ig_config *cfg, ig_mj_expire_opts *o)
{
    memset(o, 0, sizeof *o);
    o->keep_last = (uint32_t)cfg->maintain.expire_keep_snapshots;
    o->keep_young_ms = cfg->maintain.expire_min_age_ns > 0
                           ? cfg->maintain.expire_min_age_ns / IG_NS_PER_MS
                           : -1; /* 0 in the config: no age protection */
    if (o->keep_young_ms == 0)
        o->keep_young_ms = 1;
}

void ig_mj_orphan_opts_from_config(const ig_config *cfg, ig_mj_orphan_opts *o)
{
    memset(o, 0, sizeof *o);
    o->min_age_ms = cfg->maintain.orphan_min_age_ns > 0
                        ? cfg->maintain.orphan_min_age_ns / IG_NS_PER_MS
                        : -1; /* 0 in the config: no age check */
    if (o->min_age_ms == 0)
        o->min_age_ms = 1;
}

void ig_mj_compact_opts_from_config(const ig_config *cfg, ig_mj_compact_opts *o)
{
    memset(o, 0, sizeof *o);
    o->target_bytes =
        cfg->maintain.target_file_bytes > 0 ? (uint64_t)cfg->maintain.target_file_bytes : 0;
    o->row_group_rows = cfg->parquet.row_group_rows > 0 ? (size_t)cfg->parquet.row_group_rows : 0;
}

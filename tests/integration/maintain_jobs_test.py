"""Maintenance jobs end to end through POST :8080/maintain/run: three shifts leave three small
files per (tenant, day) partition of every table (generated logs, and the OTLP corpus logs,
events, spans and metrics with their nested lists and maps); `compact` merges each partition
into one sorted file with exactly the same rows and keeps the WAL position; kill -9 at each compaction fail point then a
rerun loses and duplicates nothing and every referenced file exists; `retention` (7 days by
default, 30 days for tenant t2 through the overrides file) drops exactly t1's old day;
`expire-snapshots` and `remove-orphans` with their defaults (100 snapshots / 30 min, 24 h)
keep every live file; GET /status reports the runs."""
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from tap import SHARED, TOOLS, Server, check, done, http, loads  # noqa: E402

OTLP = os.path.join(SHARED, "corpus", "otlp")
TABLES = ["logs", "spans", "metrics", "events"]
CORPUS = [("logs", "proto-examples-logs"), ("logs", "collector-pdata-logs"),
          ("logs", "proto-examples-events"), ("traces", "proto-examples-trace"),
          ("traces", "collector-pdata-traces"), ("metrics", "proto-examples-metrics")]

JS = "application/json"
NOW = int(time.time())
RECENT = (NOW - 7200) * 10**9          # two hours ago
OLD = (NOW - 10 * 86400) * 10**9       # ten days ago: past t1's 7 days, within t2's 30


def write_cfg(d):
    ov = os.path.join(d, "overrides.yaml")
    with open(ov, "w") as f:
        f.write("overrides:\n  t2:\n    retention_period: 30d\n"
                "  t3:\n    retention_period: 36000d\n")
    return ("maintain:\n  shift_interval: 0s\n  wal_grace_period: 0s\n  lease_ttl: 1s\n"
            f"limits:\n  retention_period: 7d\n  overrides_file: {ov}\n  overrides_period: 1s\n")


CFG_DIR = tempfile.mkdtemp(prefix="icegate-mj-")
CFG = write_cfg(CFG_DIR)
srv = Server(config_text=CFG)
srv.wait_ready("maintain")
DATA = os.path.join(srv.dir, "data")


def post_logs(tenant, tag, n, base_ns):
    res = []
    for s, svc in enumerate(["api", "db", "web"]):
        recs = [{"timeUnixNano": str(base_ns + (i * 7919 % 3600) * 10**9),
                 "severityText": "INFO", "body": {"stringValue": f"{tag}-{i}"}}
                for i in range(n) if i % 3 == s]
        res.append({"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": svc}}]},
                    "scopeLogs": [{"scope": {"name": "gen"}, "logRecords": recs}]})
    st, _, b = http("POST", srv.url("otlp_http", "/v1/logs"),
                    body=json.dumps({"resourceLogs": res}).encode(),
                    headers={"Content-Type": JS, "X-Scope-OrgID": tenant})
    assert st == 200, (tenant, st, b)


def post_corpus(tenant):
    for signal, name in CORPUS:
        with open(os.path.join(OTLP, name + ".json"), "rb") as f:
            st, _, b = http("POST", srv.url("otlp_http", f"/v1/{signal}"), body=f.read(),
                            headers={"Content-Type": JS, "X-Scope-OrgID": tenant})
        assert st == 200, (name, st, b)


def run(job, server=None, timeout=120):
    st, _, b = http("POST", (server or srv).url("maintain", f"/maintain/run?job={job}"), body=b"",
                    timeout=timeout)
    return st, loads(b)


def tool(name, path):
    out = subprocess.run([os.path.join(TOOLS, name), "cat", path], capture_output=True,
                         text=True, check=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def local(uri):
    assert uri.startswith("file://"), uri
    return uri[len("file://"):]


def metadata(table="logs"):
    db = sqlite3.connect(os.path.join(DATA, "catalog.db"))
    try:
        (loc,) = db.execute("SELECT metadata_location FROM iceberg_tables WHERE catalog_name = "
                            "'icegate' AND table_namespace = 'icegate' AND table_name = ?",
                            (table,)).fetchone()
    finally:
        db.close()
    with open(local(loc)) as f:
        return json.load(f)


def current(md=None, table="logs"):
    md = md or metadata(table)
    return next((s for s in md["snapshots"] if s["snapshot-id"] == md["current-snapshot-id"]), None)


def data_files(table="logs"):
    """(path, record_count, partition) of the live data files of the current snapshot."""
    snap = current(table=table)
    out = []
    for m in tool("avrotool", local(snap["manifest-list"])):
        for e in tool("avrotool", local(m["manifest_path"])):
            if e["status"] != 2:
                out.append((local(e["data_file"]["file_path"]), e["data_file"]["record_count"],
                            e["data_file"]["partition"]))
    return out


def rows(table="logs"):
    out = []
    for path, count, _ in data_files(table):
        r = tool("pqtool", path)
        assert len(r) == count, (path, len(r), count)
        out += r
    return out


def comparable(rs):
    return Counter(json.dumps(r, sort_keys=True) for r in rs)


def parts(files):
    return Counter((p["tenant_id"], p["timestamp_day"]) for _, _, p in files)


# three rounds of ingest + shift: three small files per (tenant, day)
for k in range(3):
    for t in ["t1", "t2"]:
        post_logs(t, f"{t}-r{k}-new", 30, RECENT)
        post_logs(t, f"{t}-r{k}-old", 30, OLD)
    post_corpus("t3")
    st, j = run("shift")
    assert st == 200 and j["outcome"] == "ok", j

BEFORE = comparable(rows())
WAL_POS = current()["summary"].get("icegate.wal-position")
OTHERS = {t: comparable(rows(t)) for t in TABLES}  # every table, t3's corpus rows included


def t_setup():
    assert sum(OTHERS["logs"].values()) > 360, sum(OTHERS["logs"].values())
    ps = parts([f for f in data_files() if f[2]["tenant_id"] != "t3"])
    assert len(ps) == 4 and all(v == 3 for v in ps.values()), ps
    for t in TABLES:
        ps = parts(data_files(t))
        assert ps and all(v % 3 == 0 for v in ps.values()), (t, ps)
    assert WAL_POS, current()


def t_compact():
    global BEFORE
    st, j = run("compact")
    assert st == 200 and j["outcome"] == "ok", j
    assert j["commits"] == 4, j
    for t in TABLES:
        assert all(v == 1 for v in parts(data_files(t)).values()), (t, parts(data_files(t)))
        after = comparable(rows(t))
        assert after == OTHERS[t], (t, sum(after.values()), sum(OTHERS[t].values()))
    files = data_files()
    BEFORE = comparable(rows())
    snap = current()
    assert snap["summary"]["operation"] == "replace", snap
    assert snap["summary"].get("icegate.wal-position") == WAL_POS, snap["summary"]
    assert snap["summary"]["total-records"] == str(sum(BEFORE.values())), snap["summary"]
    for path, _, _ in files:
        r = tool("pqtool", path)
        keys = [((x["service_name"] is not None, x["service_name"] or ""), -x["timestamp"]) for x in r]
        assert keys == sorted(keys), path
    st, j = run("compact")
    assert st == 200 and j["outcome"] == "ok" and j["commits"] == 0, j
    # shift writes sorted files: the streaming merge took them all (no in-memory fallback)
    log = srv.logtext()
    assert "not sorted" not in log and "batch skipped" not in log, log[-2000:]


def more_small_files(tag):
    for k in range(2):
        for t in ["t1", "t2"]:
            post_logs(t, f"{t}-{tag}-{k}", 12, RECENT)
        st, j = run("shift")
        assert st == 200 and j["outcome"] == "ok", j


def crash_round(fp):
    global srv, BEFORE
    more_small_files(fp)
    BEFORE = comparable(rows())
    srv.stop()
    s = Server(like=srv, config_text=CFG, extra_env={"ICEGATE_FAILPOINT": fp})
    srv = s
    s.wait_ready("maintain")
    try:
        st, j = run("compact", s, timeout=60)
    except (OSError, ValueError):
        st, j = None, None  # the process died mid-request
    if st is not None:
        s.stop()
        raise AssertionError(f"the fail point did not fire: {st} {j}")
    s.proc.wait(timeout=30)
    assert s.proc.returncode == 137, s.proc.returncode
    # whatever the crash left: the table is consistent and holds the same rows
    assert comparable(rows()) == BEFORE, fp
    time.sleep(1.2)  # the dead process's lease (lease_ttl 1s) expires
    s2 = Server(like=s, config_text=CFG)
    srv = s2
    s2.wait_ready("maintain")
    st, j = run("compact", s2)
    assert st == 200 and j["outcome"] == "ok", j
    assert comparable(rows()) == BEFORE, fp
    files = data_files()
    for path, _, _ in files:
        assert os.path.exists(path), path
    ps = parts(files)
    assert all(v == 1 for v in ps.values()), (fp, ps)


def t_retention():
    global BEFORE
    before = rows()
    st, j = run("retention")
    assert st == 200 and j["outcome"] == "ok", j
    assert j["commits"] == 1, j
    after = rows()
    old_day = OLD // 10**9 // 86400
    want = [r for r in before
            if not (r["tenant_id"] == "t1" and r["timestamp"] // (86400 * 10**6) == old_day)]
    assert len(want) < len(before)
    assert comparable(after) == comparable(want), (len(after), len(want))
    assert any(r["tenant_id"] == "t2" and r["timestamp"] // (86400 * 10**6) == old_day
               for r in after)
    snap = current()
    assert snap["summary"]["operation"] == "delete", snap["summary"]
    assert snap["summary"].get("icegate.wal-position"), snap["summary"]
    BEFORE = comparable(after)
    st, j = run("retention")
    assert st == 200 and j["outcome"] == "ok" and j["commits"] == 0, j


def t_expire_and_orphans_keep_live_files():
    nsnap = len(metadata()["snapshots"])
    st, j = run("expire-snapshots")
    assert st == 200 and j["outcome"] == "ok", j
    # every snapshot is younger than 30 min: the defaults keep them all
    assert len(metadata()["snapshots"]) == nsnap
    st, j = run("remove-orphans")
    assert st == 200 and j["outcome"] == "ok", j
    # every file is younger than 24 h: nothing deleted, not even the crash leftovers
    assert comparable(rows()) == BEFORE
    md = metadata()
    for s in md["snapshots"]:
        assert os.path.exists(local(s["manifest-list"])), s
    for e in md["metadata-log"]:
        assert os.path.exists(local(e["metadata-file"])), e


def t_status():
    st, _, b = http("GET", srv.url("maintain", "/status"))
    j = loads(b)
    assert st == 200, (st, j)
    for name in ["compact", "retention", "expire-snapshots", "remove-orphans"]:
        s = j["jobs"][name]
        assert s["runs"] >= 1 and s["last_run"]["outcome"] == "ok", (name, s)


def t_expire_and_orphans_aggressive():
    """keep 1 snapshot, no age protection: every file on disk is then exactly a live one"""
    global srv
    srv.stop()
    time.sleep(1.2)  # lease
    cfg2 = CFG.replace("  lease_ttl: 1s\n", "  lease_ttl: 1s\n  expire_keep_snapshots: 1\n"
                       "  expire_min_age: 0s\n  orphan_min_age: 0s\n")
    srv = Server(like=srv, config_text=cfg2)
    srv.wait_ready("maintain")
    def on_disk(table, sub, suffix):
        out = set()
        for d, _, fs in os.walk(os.path.join(DATA, "warehouse", "icegate", table, sub)):
            out |= {os.path.join(d, f) for f in fs if f.endswith(suffix)}
        return out

    leftovers = on_disk("logs", "data", ".parquet") - {p for p, _, _ in data_files()}
    assert leftovers, "the crash rounds should have left unreferenced data files"
    st, j = run("expire-snapshots")
    assert st == 200 and j["outcome"] == "ok", j
    st, j = run("remove-orphans")
    assert st == 200 and j["outcome"] == "ok", j
    for t in TABLES:
        md = metadata(t)
        assert len(md["snapshots"]) == 1 and len(md["snapshot-log"]) == 1, (t, md["snapshot-log"])
        live = {p for p, _, _ in data_files(t)}
        assert on_disk(t, "data", ".parquet") == live, t
        snap = current(table=t)
        manifests = {local(m["manifest_path"]) for m in tool("avrotool", local(snap["manifest-list"]))}
        assert on_disk(t, "metadata", ".avro") == manifests | {local(snap["manifest-list"])}, t
        for e in md["metadata-log"]:
            assert os.path.exists(local(e["metadata-file"])), e
        if t != "logs":
            assert comparable(rows(t)) == OTHERS[t], t
    assert comparable(rows()) == BEFORE

check("three shifts: three small files per (tenant, day) partition", t_setup)
check("compact: one sorted file per partition, same rows, replace keeps the WAL position",
      t_compact)
for fp in ["compact-after-data", "compact-before-commit", "compact-after-commit"]:
    check(f"kill -9 at {fp}, compact again: no row lost, none twice, files exist",
          lambda fp=fp: crash_round(fp))
check("retention: exactly t1's expired day dropped (t2 keeps 30 days), `delete` snapshot",
      t_retention)
check("expire-snapshots and remove-orphans with defaults keep every live file",
      t_expire_and_orphans_keep_live_files)
check("GET /status reports the maintenance jobs", t_status)
check("expire (keep 1) + remove-orphans (no age): disk holds exactly the live files, same rows",
      t_expire_and_orphans_aggressive)

srv.stop()
shutil.rmtree(CFG_DIR, ignore_errors=True)
done()

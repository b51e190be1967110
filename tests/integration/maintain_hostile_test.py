"""The maintain role under hostile use: bad dry_run values, a corrupt WAL segment (the error
names it, the other tables still shift), Loki counts read during shift/compaction/expire
commits (never doubled or dropped), kill -9 at random moments while ingesting with the
scheduler shifting and compacting, `icegate maintain shift` beside a running server, a data
file deleted by hand (an error, never a smaller count) and a full disk (tmpfs; skipped when
it cannot be mounted), a crash at the retention-before-commit fail point, the REST catalog's
auth scheme. Every check compares against the rows the server acknowledged."""
import glob
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from tap import BIN, TOOLS, Server, check, done, free_ports, http, loads  # noqa: E402

JS = "application/json"
DAY0 = 1768003200  # 2026-01-10T00:00:00Z
CFG = ("maintain:\n  shift_interval: 0s\n  wal_grace_period: 0s\n  lease_ttl: 1s\n"
       "  expire_min_age: 0s\n  expire_keep_snapshots: 1\n  orphan_min_age: 0s\n")
rnd = random.Random(int(os.environ.get("HOSTILE_SEED", "4")))


def tool(name, path):
    out = subprocess.run([os.path.join(TOOLS, name), "cat", path], capture_output=True,
                         text=True, check=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def logs_body(tag, n, svc="svc", day=0, sec_step=7):
    """n records with unique bodies '<tag>-<i>' at whole microseconds."""
    recs = [{"timeUnixNano": str((DAY0 + day * 86400 + (i * sec_step) % 86000) * 10**9 + 1000),
             "severityText": "INFO", "body": {"stringValue": f"{tag}-{i}"}} for i in range(n)]
    return json.dumps({"resourceLogs": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": svc}}]},
        "scopeLogs": [{"logRecords": recs}]}]}).encode()


def push(srv, tag, n, acked=None, svc="svc", day=0, timeout=10):
    st, _, b = http("POST", srv.url("otlp_http", "/v1/logs"), body=logs_body(tag, n, svc, day),
                    headers={"Content-Type": JS, "X-Scope-OrgID": "t1"}, timeout=timeout)
    if st == 200 and acked is not None:
        acked.update(f"{tag}-{i}" for i in range(n))
    return st, b


def job(srv, name, timeout=120):
    st, _, b = http("POST", srv.url("maintain", "/maintain/run?job=" + name), body=b"",
                    timeout=timeout)
    try:
        return st, loads(b)
    except ValueError:
        return st, {"raw": b[:300]}


def loki_count(srv, days=3):
    q = urllib.parse.quote('sum(count_over_time({service_name=~".+"}[%dd]))' % days)
    st, _, b = http("GET", srv.url("loki", f"/loki/api/v1/query?query={q}&time={DAY0 + days * 86400}"),
                    headers={"X-Scope-OrgID": "t1"}, timeout=60)
    if st != 200:
        return st, b
    r = loads(b)["data"]["result"]
    return st, int(r[0]["value"][1]) if r else 0


def table_state(data, table="logs"):
    """(Counter of bodies in live Iceberg files + WAL after the position, missing files)."""
    db = sqlite3.connect(os.path.join(data, "catalog.db"))
    try:
        (loc,) = db.execute("SELECT metadata_location FROM iceberg_tables WHERE table_name = ?",
                            (table,)).fetchone()
    finally:
        db.close()
    with open(loc[len("file://"):]) as f:
        md = json.load(f)
    snap = next((s for s in md["snapshots"] if s["snapshot-id"] == md["current-snapshot-id"]), None)
    bodies, missing, pos = Counter(), [], {}
    if snap:
        for item in filter(None, snap["summary"].get("icegate.wal-position", "").split(",")):
            w, q = item.rsplit(":", 1)
            pos[w] = int(q)
        for m in tool("avrotool", snap["manifest-list"][len("file://"):]):
            mp = m["manifest_path"][len("file://"):]
            if not os.path.exists(mp):
                missing.append(mp)
                continue
            for e in tool("avrotool", mp):
                if e["status"] == 2:
                    continue
                p = e["data_file"]["file_path"][len("file://"):]
                if not os.path.exists(p):
                    missing.append(p)
                    continue
                rows = tool("pqtool", p)
                assert len(rows) == e["data_file"]["record_count"], p
                bodies.update(r["body"] for r in rows)
    root = os.path.join(data, "warehouse", "wal", table)
    for w in os.listdir(root) if os.path.isdir(root) else []:
        for f in os.listdir(os.path.join(root, w)):
            if f.endswith(".parquet") and int(f[:20]) > pos.get(w, 0):
                bodies.update(r["body"] for r in tool("pqtool", os.path.join(root, w, f)))
    return bodies, missing


def exactly_once(acked, bodies, missing, what):
    lost = [b for b in acked if bodies[b] == 0]
    dup = [b for b in bodies if bodies[b] > 1]
    extra = [b for b in bodies if b not in acked]
    assert not missing, (what, "referenced files missing", missing[:3])
    assert not lost and not dup and not extra, (what, len(acked), "lost", lost[:5], "dup",
                                                dup[:5], "unacknowledged", extra[:5])


# ---- bad parameters ----------------------------------------------------------------------

def t_dry_run_values():
    srv = Server(config_text=CFG)
    try:
        srv.wait_ready("maintain")
        # an object under the table location that no snapshot references
        orphan = os.path.join(srv.dir, "data", "warehouse", "icegate", "logs", "data", "stray.parquet")
        os.makedirs(os.path.dirname(orphan), exist_ok=True)
        with open(orphan, "wb") as f:
            f.write(b"x")
        for v in ["yes", "TRUE", "on", "2", ""]:
            st, j = job(srv, "remove-orphans&dry_run=" + v)
            assert st == 400, (v, st, j)
            assert os.path.exists(orphan), f"dry_run={v} deleted an orphan"
        st, j = job(srv, "remove-orphans&dry_run=true")
        assert st == 200 and j["dry_run"] and j["files"] == 1 and os.path.exists(orphan), j
        st, j = job(srv, "remove-orphans&dry_run=false")
        assert st == 200 and not j.get("dry_run") and j["files"] == 1, j
        assert not os.path.exists(orphan)
        st, j = job(srv, "compact&dry_run=false")
        assert st == 200, j
    finally:
        srv.stop()


# ---- corrupt WAL segment -----------------------------------------------------------------

def t_corrupt_wal_segment():
    srv = Server(config_text=CFG)
    try:
        srv.wait_ready("maintain")
        data = os.path.join(srv.dir, "data")
        acked = set()
        assert push(srv, "a", 50, acked)[0] == 200
        st, j = job(srv, "shift")
        assert st == 200 and j["rows"] == 50, j
        assert push(srv, "bad", 40)[0] == 200
        span = {"resourceSpans": [{"resource": {"attributes": [{"key": "service.name", "value": {
            "stringValue": "s"}}]}, "scopeSpans": [{"spans": [{
                "traceId": "0102030405060708090a0b0c0d0e0f10", "spanId": "0102030405060708",
                "name": "op", "startTimeUnixNano": str(DAY0 * 10**9),
                "endTimeUnixNano": str(DAY0 * 10**9 + 5000)}]}]}]}
        st, _, b = http("POST", srv.url("otlp_http", "/v1/traces"), body=json.dumps(span).encode(),
                        headers={"Content-Type": JS, "X-Scope-OrgID": "t1"})
        assert st == 200, b
        segs = sorted(glob.glob(os.path.join(data, "warehouse", "wal", "logs", "*", "*.parquet")))
        bad = segs[-1]
        with open(bad, "r+b") as f:
            f.seek(100)
            f.write(b"\0" * 200)
        key = os.path.relpath(bad, os.path.join(data, "warehouse"))
        st, j = job(srv, "shift")
        assert st == 500 and j["outcome"] == "error", j
        assert key in j["error"], ("the error names the segment", key, j["error"])
        # the other tables went on
        st, j = job(srv, "shift")
        assert st == 500 and j["rows"] == 0, j
        spans_committed = [p for p in glob.glob(os.path.join(
            data, "warehouse", "icegate", "spans", "data", "**", "*.parquet"), recursive=True)]
        assert spans_committed, "spans not shifted beside the corrupt logs segment"
        assert srv.proc.poll() is None
        os.remove(bad)
        st, j = job(srv, "shift")
        assert st == 200 and j["outcome"] == "ok", j
        assert push(srv, "c", 10, acked)[0] == 200
        st, j = job(srv, "shift")
        assert st == 200 and j["rows"] == 10, j
        exactly_once(acked, *table_state(data), "after removing the corrupt segment")
        assert loki_count(srv) == (200, 60)
    finally:
        srv.stop()


# ---- queries during commits --------------------------------------------------------------

def t_counts_during_commits():
    srv = Server(config_text=CFG)
    try:
        srv.wait_ready("maintain")
        total, bad, errs, nq = [0], [], [], [0]
        stop = [False]

        def querier():
            while not stop[0]:
                st, got = loki_count(srv)
                nq[0] += 1
                if st != 200:
                    errs.append((st, got[:200]))
                elif got != total[0]:
                    bad.append((total[0], got))
        for i in range(24):
            n = rnd.randint(1, 60)
            assert push(srv, f"r{i}", n, svc=rnd.choice("abc"), day=i % 3)[0] == 200
            total[0] += n
            stop[0] = False
            qs = [threading.Thread(target=querier) for _ in range(2)]
            for q in qs:
                q.start()
            time.sleep(0.02)
            for name in ["shift"] + (["compact"] if i % 3 == 2 else []) + \
                    (["expire-snapshots", "remove-orphans"] if i % 5 == 4 else []):
                st, j = job(srv, name)
                assert st == 200, j
            time.sleep(0.02)
            stop[0] = True
            for q in qs:
                q.join()
        assert not bad and not errs, (nq[0], "wrong", bad[:5], "errors", errs[:3])
        assert nq[0] > 24, nq[0]
    finally:
        srv.stop()


# ---- kill -9 at random moments -----------------------------------------------------------

def t_random_kill_while_ingesting():
    cfg = ("maintain:\n  shift_interval: 200ms\n  compact_interval: 1s\n  wal_grace_period: 0s\n"
           "  lease_ttl: 1s\n  expire_min_age: 0s\n  expire_keep_snapshots: 2\n")
    srv = [Server(config_text=cfg)]
    srv[0].wait_ready("maintain")
    acked, stop, n = set(), [False], [0]

    def ingest():
        while not stop[0]:
            n[0] += 1
            try:
                push(srv[0], f"k{n[0]}", rnd.randint(1, 80), acked, svc=f"s{n[0] % 3}",
                     day=n[0] % 2, timeout=5)
            except OSError:
                time.sleep(0.01)
    th = threading.Thread(target=ingest)
    th.start()
    try:
        for _ in range(12):
            time.sleep(rnd.uniform(0.1, 1.0))
            if rnd.random() < 0.4:
                threading.Thread(target=lambda s=srv[0]: _quiet(job, s, "compact")).start()
            srv[0].proc.send_signal(signal.SIGKILL)
            srv[0].proc.wait()
            srv[0] = Server(config_text=cfg, like=srv[0])
            srv[0].wait_ready("maintain")
    finally:
        stop[0] = True
        th.join()
    try:
        time.sleep(1.2)  # the dead holders' leases expire
        for name in ["shift", "compact", "shift"]:
            st, j = job(srv[0], name)
            assert st == 200 and j["outcome"] == "ok", (name, j)
        data = os.path.join(srv[0].dir, "data")
        exactly_once(acked, *table_state(data), "after 12 kills")
        assert loki_count(srv[0]) == (200, len(acked)), (loki_count(srv[0]), len(acked))
    finally:
        srv[0].stop()


def _quiet(fn, *a):
    try:
        fn(*a)
    except OSError:
        pass


# ---- the CLI beside a running server -------------------------------------------------------

def t_cli_shift_beside_server():
    srv = Server(config_text=CFG.replace("shift_interval: 0s", "shift_interval: 100ms"))
    try:
        srv.wait_ready("maintain")
        acked = set()
        cfg = os.path.join(srv.dir, "config.yaml")
        for i in range(8):
            assert push(srv, f"c{i}", 40, acked, day=i % 2)[0] == 200
            p = subprocess.run([BIN, "maintain", "shift" if i % 2 else "compact", "--config", cfg],
                               env=srv.env, capture_output=True, text=True, timeout=60)
            assert p.returncode == 0, (p.stdout, p.stderr)
        time.sleep(0.5)
        st, j = job(srv, "shift")
        assert st == 200, j
        exactly_once(acked, *table_state(os.path.join(srv.dir, "data")), "CLI beside server")
        assert loki_count(srv) == (200, len(acked))
    finally:
        srv.stop()


# ---- a data file deleted by hand -----------------------------------------------------------

def t_deleted_data_file_is_an_error():
    srv = Server(config_text=CFG)
    try:
        srv.wait_ready("maintain")
        for k in range(2):
            assert push(srv, f"d{k}", 30)[0] == 200
            assert job(srv, "shift")[0] == 200
        assert loki_count(srv) == (200, 60)
        files = glob.glob(os.path.join(srv.dir, "data", "warehouse", "icegate", "logs", "data",
                                       "**", "*.parquet"), recursive=True)
        os.remove(files[0])
        st, b = loki_count(srv)
        assert st >= 500 and b"no such object" in b, (st, b)
        st, j = job(srv, "compact")
        assert st == 500 and "no such object" in j["error"], j
    finally:
        srv.stop()


# ---- disk full ---------------------------------------------------------------------------

def t_disk_full():
    mnt = tempfile.mkdtemp(prefix="icegate-full-")
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", mnt],
                      capture_output=True).returncode != 0:
        print("# skip: cannot mount a tmpfs (not root?)")
        os.rmdir(mnt)
        return

    class Like:
        dir = mnt
        ports = dict(zip([x.lower() for x in Server.NAMES], free_ports(len(Server.NAMES))))
    srv = Server(config_text=CFG, like=Like)
    try:
        srv.wait_ready("maintain")
        acked, fails = set(), 0
        for i in range(600):
            st, b = push(srv, f"f{i}-%016x" % rnd.getrandbits(64), 200, acked, timeout=30)
            if st != 200:
                assert st == 503 and b"No space left" in b, (st, b)
                fails += 1
                if fails == 2:
                    break
        assert fails == 2, "the tmpfs never filled"
        subprocess.run(["mount", "-o", "remount,size=3300k", mnt], check=True)
        st, j = job(srv, "shift")  # little room: the data file may not fit
        assert st in (200, 500, 503), j
        first = j["rows"] if st == 200 else 0
        assert st != 200 or first == len(acked), (j, len(acked))
        subprocess.run(["mount", "-o", "remount,size=100m", mnt], check=True)
        st, j = job(srv, "shift")
        assert st == 200 and first + j["rows"] == len(acked), (first, j, len(acked))
        exactly_once(acked, *table_state(os.path.join(mnt, "data")), "after a full disk")
    finally:
        srv.stop()
        srv.log.close()
        subprocess.run(["umount", mnt])
        os.rmdir(mnt)


def t_retention_crash_before_commit():
    d = tempfile.mkdtemp(prefix="icegate-ret-")
    ov = os.path.join(d, "overrides.yaml")
    with open(ov, "w") as f:
        f.write("overrides:\n  t1:\n    retention_period: 1h\n")
    cfg = CFG + f"limits:\n  overrides_file: {ov}\n  overrides_period: 1s\n"
    srv = Server(config_text=cfg)
    now = int(time.time())
    try:
        srv.wait_ready("maintain")
        data = os.path.join(srv.dir, "data")
        acked, due = set(), set()
        for tag, base in [("old", DAY0), ("mid", now - 3 * 3600), ("new", now - 600)]:
            recs = [{"timeUnixNano": str((base + i) * 10**9), "body": {"stringValue": f"{tag}-{i}"}}
                    for i in range(20)]
            body = json.dumps({"resourceLogs": [{"resource": {"attributes": [{"key": "service.name",
                   "value": {"stringValue": "svc"}}]}, "scopeLogs": [{"logRecords": recs}]}]}).encode()
            st, _, b = http("POST", srv.url("otlp_http", "/v1/logs"), body=body,
                            headers={"Content-Type": JS, "X-Scope-OrgID": "t1"})
            assert st == 200, b
            acked.update(f"{tag}-{i}" for i in range(20))
            if tag == "new":
                due.update(f"{tag}-{i}" for i in range(20))
        st, j = job(srv, "shift")
        assert st == 200 and j["rows"] == 60, j
        srv.stop()
        time.sleep(1.1)  # the stopped holder's lease
        srv = Server(like=srv, config_text=cfg, extra_env={"ICEGATE_FAILPOINT": "retention-before-commit"})
        srv.wait_ready("maintain")
        time.sleep(1.2)
        try:
            job(srv, "retention", timeout=30)
        except OSError:
            pass
        assert srv.proc.wait(timeout=30) == 137, srv.proc.returncode
        exactly_once(acked, *table_state(data), "after a crash before the retention commit")
        time.sleep(1.1)
        srv = Server(like=srv, config_text=cfg)
        srv.wait_ready("maintain")
        time.sleep(1.2)
        st, j = job(srv, "retention")
        assert st == 200 and j["commits"] == 1, j
        exactly_once(due, *table_state(data), "retention after the crash")
        st, j = job(srv, "remove-orphans&dry_run=true")
        assert st == 200, j
        # the crashed run's rewrite, its manifest and manifest list, nothing else
        assert j["files"] >= 1 and all(k.startswith("icegate/logs/") for k in j["orphans"]), j
        assert any("/data/" in k for k in j["orphans"]), j
    finally:
        srv.stop()


def t_rest_catalog_odd_requests():
    srv = Server(config_text=CFG + "catalog:\n  rest:\n    token: sekret\n")
    try:
        srv.wait_ready("catalog")
        h = {"Authorization": "Bearer sekret"}
        base = "/v1/namespaces/icegate/tables/logs"
        assert http("GET", srv.url("catalog", base), headers=h)[0] == 200
        # RFC 7235: the auth scheme is case-insensitive; the token is not
        assert http("GET", srv.url("catalog", base), headers={"Authorization": "bearer sekret"})[0] == 200
        assert http("GET", srv.url("catalog", base), headers={"Authorization": "BEARER sekret"})[0] == 200
        assert http("GET", srv.url("catalog", base), headers={"Authorization": "Bearer Sekret"})[0] == 401
        assert http("GET", srv.url("catalog", base), headers={"Authorization": "Basic sekret"})[0] == 401
        assert http("GET", srv.url("catalog", base), headers={"Authorization": "Bearersekret"})[0] == 401
    finally:
        srv.stop()


check("dry_run accepts true/1/false/0 only (a typo never deletes)", t_dry_run_values)
check("corrupt WAL segment: the error names it, other tables shift, removal recovers",
      t_corrupt_wal_segment)
check("Loki counts read during shift/compact/expire/orphans commits equal the acked rows",
      t_counts_during_commits)
check("kill -9 at random moments while ingesting (scheduled shift+compact): exactly once",
      t_random_kill_while_ingesting)
check("icegate maintain shift/compact beside a running server: exactly once",
      t_cli_shift_beside_server)
check("a data file deleted by hand: queries and compact fail naming it", t_deleted_data_file_is_an_error)
check("REST catalog: the Bearer auth scheme is case-insensitive (RFC 7235), the token is not",
      t_rest_catalog_odd_requests)
check("kill -9 before the retention commit (fail point), rerun: exactly the due rows",
      t_retention_crash_before_commit)
check("disk full: 503 on ingest, shift fails and recovers, exactly once", t_disk_full)
done()

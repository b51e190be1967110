#!/usr/bin/env python3
"""Per-tenant limits on ingest: overrides file, rate/burst (Loki's 429 text, OTLP 429 +
Retry-After), max line size, labels per stream, request size, storage quota (403, no retry),
reload of the overrides file, bad file kept with one error line, /config/tenant/v1/limits,
drilldown-limits, per-tenant /metrics, and tenant isolation."""
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from tap import Server, check, done, http, loads, run_cli  # noqa: E402

PERIOD = 0.3  # limits.overrides_period in the test config

OVERRIDES = """overrides:
  t-rate:
    ingestion_rate_bytes: 1000
    ingestion_burst_size_bytes: 3000
  t-otlp-rate:
    ingestion_rate_bytes: 1000
    ingestion_burst_size_bytes: 1500
  t-burst:
    ingestion_rate_bytes: 1000
    ingestion_burst_size_bytes: 5000
  t-line:
    max_line_size: 100
  t-labels:
    max_label_names_per_series: 2
  t-req:
    max_request_size: 2000
  t-quota:
    storage_quota_bytes: 1
"""


def now_ns():
    return time.time_ns()


def loki_body(lines, labels=None):
    labels = labels or {"job": "app"}
    ts = now_ns()
    return json.dumps({"streams": [{"stream": labels,
                                    "values": [[str(ts + i), l] for i, l in enumerate(lines)]}]
                       }).encode()


def otlp_logs(bodies):
    ts = str(now_ns())
    return json.dumps({"resourceLogs": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "svc"}}]},
        "scopeLogs": [{"logRecords": [{"timeUnixNano": ts, "body": {"stringValue": b}}
                                      for b in bodies]}]}]}).encode()


def main():
    s = None
    try:
        import tempfile
        tmp = tempfile.mkdtemp(prefix="icegate-limits-")
        ov = os.path.join(tmp, "overrides.yaml")

        def write_overrides(text):
            with open(ov + ".tmp", "w") as f:
                f.write(text)
            os.rename(ov + ".tmp", ov)

        write_overrides(OVERRIDES)
        s = Server(config_text=f"limits:\n  overrides_file: {ov}\n  overrides_period: {PERIOD}s\n"
                               "  storage_recount_period: 1h\n"
                               "wal:\n  flush_interval: 10ms\n")
        s.wait_ready("otlp_http")
        s.wait_ready("loki")

        def push(tenant, body, port="otlp_http", ctype="application/json"):
            h = {"Content-Type": ctype}
            if tenant is not None:
                h["X-Scope-OrgID"] = tenant
            return http("POST", s.url(port, "/loki/api/v1/push"), body, h)

        def otlp(tenant, body):
            return http("POST", s.url("otlp_http", "/v1/logs"), body,
                        {"Content-Type": "application/json", "X-Scope-OrgID": tenant})

        def t_rate_loki():
            st, _, b = push("t-rate", loki_body(["x" * 2500]))
            assert st == 204, (st, b)
            st, h, b = push("t-rate", loki_body(["y" * 1200, "z" * 1300]))
            assert st == 429, (st, b)
            want = ("Ingestion rate limit exceeded for user t-rate (limit: 1000 bytes/sec) while "
                    "attempting to ingest '2' lines totaling '2500' bytes, reduce log volume or "
                    "contact your Loki administrator to see if the limit can be increased")
            assert b.decode().strip() == want, b
            assert int(h.get("retry-after", "0")) >= 1, h
        check("Loki push over the rate: 429 with Loki's exact text and Retry-After", t_rate_loki)

        def t_isolation():
            # t-rate is exhausted; other tenants (and the default limits) are not affected.
            for t in ("t-free", "t-free2"):
                st, _, b = push(t, loki_body(["x" * 2500]))
                assert st == 204, (t, st, b)
            # t-rate's bucket (3000 bytes, 1000/s) cannot hold 2900 bytes again this soon.
            st, _, b = push("t-rate", loki_body(["x" * 2900]))
            assert st == 429, (st, b)
        check("one tenant's rate limit never affects another", t_isolation)

        def t_rate_otlp():
            body = otlp_logs(["x" * 400])
            n = len(body)
            assert n < 1500
            seen = []
            for _ in range(6):
                st, h, b = otlp("t-otlp-rate", body)
                seen.append(st)
                if st == 429:
                    break
            assert seen[0] == 200 and seen[-1] == 429, seen
            assert int(h["retry-after"]) >= 1, h
            msg = loads(b)
            assert msg["code"] == 8, msg  # RESOURCE_EXHAUSTED
            assert "ingestion_rate_mb" in msg["message"] and "1000 bytes/sec" in msg["message"], msg
        check("OTLP/HTTP over the rate: 429 + Retry-After + google.rpc.Status naming the limit",
              t_rate_otlp)

        def t_burst():
            # 5000-byte bucket, 1000 bytes/s: two 2000-byte pushes fit at once, not three.
            codes = [push("t-burst", loki_body(["b" * 2000]))[0] for _ in range(3)]
            assert codes == [204, 204, 429], codes
            time.sleep(2.5)  # refill ~2500 bytes: one more fits, not two
            codes = [push("t-burst", loki_body(["b" * 2000]))[0] for _ in range(2)]
            assert codes == [204, 429], codes
        check("burst: a full bucket takes the burst at once, then refills at the rate", t_burst)

        def t_line_loki():
            st, _, b = push("t-line", loki_body(["l" * 150]))
            assert st == 400, (st, b)
            t = b.decode().strip()
            assert t.startswith("Max entry size '100' bytes exceeded for stream '{job=\"app\"}' "
                                "while adding an entry with length '150' bytes"), t
            st, _, b = push("t-line", loki_body(["l" * 100]))
            assert st == 204, (st, b)
            # The same on the Loki listener (3100).
            st, _, b = push("t-line", loki_body(["l" * 150]), port="loki")
            assert st == 400 and b.decode().startswith("Max entry size '100' bytes"), (st, b)
        check("max_line_size on Loki push: 400 with Loki's text; a line at the limit passes",
              t_line_loki)

        def t_line_otlp():
            st, _, b = otlp("t-line", otlp_logs(["short", "L" * 150, "ok"]))
            assert st == 200, (st, b)
            r = loads(b)["partialSuccess"]
            assert r["rejectedLogRecords"] == "1", r
            assert "max_line_size" in r["errorMessage"] and "100" in r["errorMessage"], r
        check("max_line_size on OTLP: the long record rejected as partial success naming the limit",
              t_line_otlp)

        def t_labels():
            st, _, b = push("t-labels", loki_body(["a"], {"a": "1", "b": "2", "c": "3"}))
            assert st == 400, (st, b)
            assert "has 3 label names; limit 2" in b.decode() and \
                b.decode().startswith("entry for stream '{a=\"1\", b=\"2\", c=\"3\"}'"), b
            st, _, b = push("t-labels", loki_body(["a"], {"a": "1", "b": "2"}))
            assert st == 204, (st, b)
            st, _, b = push("t-free", loki_body(["a"], {"a": "1", "b": "2", "c": "3"}))
            assert st == 204, (st, b)
        check("max_label_names_per_series: Loki's 400 for that tenant only", t_labels)

        def t_request_size():
            st, _, b = push("t-req", loki_body(["r" * 2500]))
            assert st == 413, (st, b)
            assert "request body too large" in b.decode() and "limit: 2000 bytes" in b.decode(), b
            st, _, b = otlp("t-req", otlp_logs(["r" * 2500]))
            assert st == 413 and "max_request_size" in loads(b)["message"], (st, b)
            assert push("t-req", loki_body(["r" * 100]))[0] == 204
            assert push("t-free", loki_body(["r" * 2500]))[0] == 204
        check("max_request_size per tenant: 413 naming the limit", t_request_size)

        def t_quota():
            st, _, b = push("t-quota", loki_body(["q" * 100]))
            assert st == 204, (st, b)
            st, h, b = push("t-quota", loki_body(["q" * 100]))
            assert st == 403, (st, b)
            assert "retry-after" not in h, h
            t = b.decode()
            assert "storage quota exceeded for tenant 't-quota'" in t and "quota 1 bytes" in t, t
            assert "storage_quota_bytes" in t, t
            st, h, b = otlp("t-quota", otlp_logs(["q"]))
            assert st == 403 and "retry-after" not in h, (st, h, b)
            m = loads(b)
            assert m["code"] == 8 and "storage quota exceeded" in m["message"], m
            # Reading still works for the tenant: its data and its limits.
            import urllib.parse
            q = urllib.parse.urlencode({"query": '{job="app"}', "limit": "10",
                                        "start": str(now_ns() - 3600 * 10**9),
                                        "end": str(now_ns() + 10**9)})
            st, _, b = http("GET", s.url("loki", "/loki/api/v1/query_range?" + q),
                            headers={"X-Scope-OrgID": "t-quota"})
            assert st == 200, (st, b)
            res = loads(b)["data"]["result"]
            assert any("q" * 100 == v[1] for r in res for v in r["values"]), res
            st, _, b = http("GET", s.url("loki", "/config/tenant/v1/limits"),
                            headers={"X-Scope-OrgID": "t-quota"})
            assert st == 200 and b"storage_quota_bytes: 1\n" in b, (st, b)
            assert push("t-free", loki_body(["q" * 100]))[0] == 204
        check("storage quota: 403 without Retry-After naming quota and usage; others unaffected",
              t_quota)

        def t_limits_endpoint():
            for port in ("loki", "otlp_http"):
                st, h, b = http("GET", s.url(port, "/config/tenant/v1/limits"),
                                headers={"X-Scope-OrgID": "t-line"})
                assert st == 200, (port, st, b)
                assert "yaml" in h["content-type"], h
                text = b.decode()
                assert "max_line_size: 100\n" in text, text
                assert "ingestion_rate_mb: 16\n" in text, text
                assert "max_entries_limit_per_query: 5000\n" in text, text
                st, _, b = http("GET", s.url(port, "/config/tenant/v1/limits"),
                                headers={"X-Scope-OrgID": "someone"})
                assert st == 200 and b"max_line_size: 262144\n" in b, b
                st, _, b = http("GET", s.url(port, "/config/tenant/v1/limits"))
                assert st == 401 and b"no org id" in b, (st, b)
        check("GET /config/tenant/v1/limits: the caller's effective limits as YAML on 3100 and 4318",
              t_limits_endpoint)

        def t_drilldown():
            st, _, b = http("GET", s.url("loki", "/loki/api/v1/drilldown-limits"),
                            headers={"X-Scope-OrgID": "t-line"})
            assert st == 200, (st, b)
            j = loads(b)
            assert j["limits"]["max_entries_limit_per_query"] == 5000, j
            assert j["limits"]["max_query_series"] == 500, j
            assert j["limits"]["query_timeout"] == "1m", j
            assert j["pattern_ingester_enabled"] is False and "version" in j, j
        check("GET /loki/api/v1/drilldown-limits: Loki's JSON shape", t_drilldown)

        def t_reload():
            write_overrides(OVERRIDES.replace("max_line_size: 100", "max_line_size: 1000"))
            end = time.time() + 10 * PERIOD + 2
            while time.time() < end:
                _, _, b = http("GET", s.url("loki", "/config/tenant/v1/limits"),
                               headers={"X-Scope-OrgID": "t-line"})
                if b"max_line_size: 1000\n" in b:
                    break
                time.sleep(PERIOD / 3)
            assert b"max_line_size: 1000\n" in b, b
            st, _, b = push("t-line", loki_body(["l" * 150]))
            assert st == 204, (st, b)
        check("a changed overrides file applies within the reload period", t_reload)

        def t_bad_file():
            good = OVERRIDES.replace("max_line_size: 100", "max_line_size: 1000")
            write_overrides(good.replace("max_label_names_per_series: 2",
                                         "max_label_names_per_series: two"))
            time.sleep(PERIOD * 5)
            _, _, b = http("GET", s.url("loki", "/config/tenant/v1/limits"),
                           headers={"X-Scope-OrgID": "t-line"})
            assert b"max_line_size: 1000\n" in b, b
            _, _, b = http("GET", s.url("loki", "/config/tenant/v1/limits"),
                           headers={"X-Scope-OrgID": "t-labels"})
            assert b"max_label_names_per_series: 2\n" in b, b
            errs = [l for l in s.logtext().splitlines() if "overrides file rejected" in l]
            assert len(errs) == 1, errs
            e = json.loads(errs[0])
            assert e["level"] == "error", e
            assert ov in e["error"] and "overrides.t-labels.max_label_names_per_series" in e["error"] \
                and '"two"' in e["error"], e
            write_overrides(good)
        check("a bad overrides file keeps the previous limits and logs one error line", t_bad_file)

        def t_metrics():
            st, _, b = http("GET", s.url("otlp_http", "/metrics"))
            assert st == 200
            m = b.decode()

            def val(pattern):
                r = re.search("^" + re.escape(pattern) + r" ([0-9.e+]+)$", m, re.M)
                assert r, (pattern, [l for l in m.splitlines() if pattern.split("{")[0] in l][:20])
                return float(r.group(1))
            assert val('icegate_ingest_rejected_requests_total{tenant="t-rate",signal="logs",'
                       'reason="rate_limited"}') >= 2
            assert val('icegate_ingest_rejected_requests_total{tenant="t-quota",signal="logs",'
                       'reason="storage_quota"}') >= 2
            assert val('icegate_ingest_rejected_requests_total{tenant="t-line",signal="logs",'
                       'reason="line_too_long"}') >= 2
            assert val('icegate_ingest_rejected_requests_total{tenant="t-labels",signal="logs",'
                       'reason="max_label_names_per_series"}') >= 1
            assert val('icegate_ingest_rejected_requests_total{tenant="t-req",signal="logs",'
                       'reason="request_too_large"}') >= 2
            assert val('icegate_ingest_records_total{tenant="t-free",signal="logs",'
                       'outcome="accepted"}') >= 4
            assert val('icegate_ingest_bytes_total{tenant="t-free",signal="logs",'
                       'outcome="accepted"}') > 5000
            assert val('icegate_tenant_stored_bytes{tenant="t-quota"}') > 0
            assert val('icegate_tenant_stored_bytes{tenant="t-free"}') > 0
            assert 'tenant="t-rate2"' not in m
        check("/metrics: per-tenant ingested records/bytes, rejections by reason, stored bytes",
              t_metrics)

        def t_restart_recount():
            s.stop()
            s2 = Server(like=s, config_text=f"limits:\n  overrides_file: {ov}\n"
                                            f"  overrides_period: {PERIOD}s\n")
            try:
                s2.wait_ready("otlp_http")
                end = time.time() + 10
                while time.time() < end:
                    _, _, b = http("GET", s2.url("otlp_http", "/metrics"))
                    if b'icegate_tenant_stored_bytes{tenant="t-quota"}' in b:
                        break
                    time.sleep(0.2)
                assert b'icegate_tenant_stored_bytes{tenant="t-quota"}' in b, b[-2000:]
                # The recount from the WAL restores the usage: still over quota after a restart.
                st, _, b = push2 = http("POST", s2.url("otlp_http", "/loki/api/v1/push"),
                                        loki_body(["q"]), {"Content-Type": "application/json",
                                                           "X-Scope-OrgID": "t-quota"})
                assert st == 403, (st, b, push2)
            finally:
                s2.stop()
        check("stored bytes recounted from the WAL at start: the quota holds across a restart",
              t_restart_recount)
    finally:
        if s:
            s.stop()

    def t_recount_after_shift():
        srv = Server(config_text="limits:\n  storage_recount_period: 300ms\n"
                                 "maintain:\n  shift_interval: 0s\n  wal_grace_period: 0s\n")
        try:
            srv.wait_ready("otlp_http")
            srv.wait_ready("maintain")

            def gauge(t):
                m = http("GET", srv.url("otlp_http", "/metrics"))[2].decode()
                r = re.search(r'^icegate_tenant_stored_bytes\{tenant="%s"\} (\S+)$' % t, m, re.M)
                return float(r.group(1)) if r else None
            for i in range(5):
                st, _, b = http("POST", srv.url("otlp_http", "/loki/api/v1/push"),
                                loki_body(["line %d %d" % (i, j) for j in range(200)]),
                                {"Content-Type": "application/json", "X-Scope-OrgID": "sh-a"})
                assert st == 204, (st, b)
            st, _, b = http("POST", srv.url("maintain", "/maintain/run?job=shift"))
            assert st == 200 and loads(b)["outcome"] == "ok", (st, b)
            root = os.path.join(srv.dir, "data", "warehouse", "icegate", "logs", "data",
                                "tenant_id=sh-a")
            files = [os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(root)
                     for f in fs if f.endswith(".parquet")]
            assert files, "shift wrote no data file"
            want = sum(files)
            end = time.time() + 10
            got = None
            while time.time() < end:
                time.sleep(0.4)
                got = gauge("sh-a")
                if got and abs(got - want) <= 0.1 * want:
                    break
            assert got and abs(got - want) <= 0.1 * want, (got, want)
        finally:
            srv.stop()
    check("stored bytes recounted from Iceberg data files after shift (WAL segments covered)",
          t_recount_after_shift)

    def t_bad_at_start():
        import tempfile
        d = tempfile.mkdtemp(prefix="icegate-limits-bad-")
        ov = os.path.join(d, "o.yaml")
        with open(ov, "w") as f:
            f.write("overrides:\n  t1:\n    max_lines: 3\n")
        cfg = os.path.join(d, "c.yaml")
        with open(cfg, "w") as f:
            f.write(f"limits:\n  overrides_file: {ov}\n")
        srv = Server(config_text=open(cfg).read())
        rc = srv.proc.wait(timeout=20)
        assert rc != 0, rc
        t = srv.logtext()
        assert ov in t and "overrides.t1.max_lines" in t and "unknown limit" in t, t
    check("a bad overrides file at start stops start-up with one line naming file and key",
          t_bad_at_start)

    def t_config_check():
        rc, out, err = run_cli(["config", "check"])
        assert rc == 0, err
        assert "limits:\n" in out and "  ingestion_rate_mb: 16\n" in out, out
        assert "  overrides_period: 10s\n" in out, out
        import tempfile
        d = tempfile.mkdtemp(prefix="icegate-limits-cc-")
        ov, cfg = os.path.join(d, "o.yaml"), os.path.join(d, "c.yaml")
        with open(cfg, "w") as f:
            f.write(f"limits:\n  overrides_file: {ov}\n")
        with open(ov, "w") as f:
            f.write("overrides:\n  t1:\n    max_line_size: 1KiB\n")
        rc, out, err = run_cli(["config", "check", "--config", cfg])
        assert rc == 0 and out.startswith("listen_host:"), (rc, out[:200], err)
        with open(ov, "w") as f:
            f.write("overrides:\n  t1:\n    max_line_size: lots\n")
        rc, out, err = run_cli(["config", "check", "--config", cfg])
        assert rc == 1 and out == "", (rc, out, err)
        assert len(err.strip().splitlines()) == 1 and ov in err and \
            "overrides.t1.max_line_size" in err and '"lots"' in err, err
    check("icegate config check prints the limits section and validates the overrides file",
          t_config_check)
    done()


if __name__ == "__main__":
    main()

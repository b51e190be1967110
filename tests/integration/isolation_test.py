#!/usr/bin/env python3
"""Tenant isolation proof (issue #6). Three tenants get colliding data: the same service
names, label names and values, the same trace ids, and one label value and one line marker
of their own (Loki push, OTLP logs/traces/metrics, with and without X-Account-ID). Then
every endpoint of every API that exists is called with each tenant's header, with none,
with invalid ones and with `a|b` while multi-tenant queries are off: no foreign row, label,
value or count ever appears, and errors do not tell whether another tenant exists. The
same again under concurrent load from all tenants, after a shift (Iceberg data files), and
with multi-tenant queries on (`a|b` labelled __tenant_id__, matchers choose tenants, push
with `a|b` refused). Ends with the per-tenant usage series of /metrics.
OTLP/gRPC isolation is covered by the ingest tests' tenant metadata checks, not here."""
import base64
import json
import os
import re
import socket
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from tap import Server, check, done, http, loads  # noqa: E402

TENANTS = ["iso-a", "iso-b", "iso-c"]
TRACE = "5b8efff798038103d269b633813fc60c"  # the same trace id in every tenant
SPAN = "eee19b7ec3c1b174"
N_LOKI = {"iso-a": 3, "iso-b": 5, "iso-c": 7}  # different counts, so a leak changes a count
N_ACCT = 2  # OTLP records per tenant with X-Account-ID: acct-1
T0 = time.time_ns() - 60 * 10**9


def marker(t):
    return f"MARK-{t}-MARK"


def loki_body(t):
    n = N_LOKI[t]
    return json.dumps({"streams": [{
        "stream": {"service_name": "shared", "job": "app", "env": "prod", "owner": t},
        "values": [[str(T0 + i * 1000), f"level=info msg=\"hello {marker(t)}\" n={i} "
                    f"traceID={TRACE}"] for i in range(n)]}]}).encode()


def otlp_logs(t, n):
    return json.dumps({"resourceLogs": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "shared"}},
        {"key": "owner", "value": {"stringValue": t}}]},
        "scopeLogs": [{"logRecords": [{
            "timeUnixNano": str(T0 + 500 + i), "severityText": "INFO",
            "traceId": TRACE, "spanId": SPAN,
            "attributes": [{"key": "env", "value": {"stringValue": "prod"}}],
            "body": {"stringValue": f"otlp {marker(t)} {i}"}} for i in range(n)]}]}]}).encode()


def otlp_traces(t):
    return json.dumps({"resourceSpans": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "shared"}}]},
        "scopeSpans": [{"spans": [{"traceId": TRACE, "spanId": SPAN, "name": marker(t),
                                   "kind": 2, "startTimeUnixNano": str(T0),
                                   "endTimeUnixNano": str(T0 + 10**6)}]}]}]}).encode()


def otlp_metrics(t):
    return json.dumps({"resourceMetrics": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "shared"}}]},
        "scopeMetrics": [{"metrics": [{"name": "shared_requests", "description": marker(t),
                                       "sum": {"aggregationTemporality": 2, "isMonotonic": True,
                                               "dataPoints": [{"asInt": "1",
                                                               "timeUnixNano": str(T0)}]}}]}]}]
    }).encode()


def foreign(t, body):
    """Markers of tenants other than t found in a response body."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    return [o for o in TENANTS if o != t and (marker(o) in text or o in text)]


def main():
    srv = Server(config_text="wal:\n  flush_interval: 10ms\nmaintain:\n  shift_interval: 0s\n")
    try:
        srv.wait_ready("otlp_http")
        srv.wait_ready("loki")
        run(srv, after_shift=False)

        def shift():
            st, _, b = http("POST", srv.url("maintain", "/maintain/run?job=shift"), b"",
                            timeout=120)
            assert st == 200, (st, b)
            root = os.path.join(srv.dir, "data", "warehouse", "icegate", "logs", "data")
            paths = [d for d, _, fs in os.walk(root) if any(f.endswith(".parquet") for f in fs)]
            for t in TENANTS:
                assert any(f"tenant_id={t}" in p for p in paths), (t, paths)
        check("shift job moves every tenant's rows to Iceberg data files", shift)
        run(srv, after_shift=True, fill=False)
        usage(srv)
        srv.stop()
        mt = Server(like=srv, extra_env={"ICEGATE_MULTI_TENANT_QUERIES": "true"})
        srv = mt
        srv.wait_ready("loki")
        srv.wait_ready("otlp_http")
        multi(srv)
    finally:
        srv.stop()
    done()


def endpoints():
    """(name, method, path, params) of every Loki read endpoint; {t} is not used in params."""
    start, end = str(T0 - 10**9), str(time.time_ns() + 10**9)
    rng = {"start": start, "end": end}
    sel = '{service_name="shared"}'
    return [
        ("query_range log", "/loki/api/v1/query_range", dict(rng, query=sel, limit="1000")),
        ("query_range trace filter", "/loki/api/v1/query_range",
         dict(rng, query=sel + f' |= "{TRACE}"', limit="1000")),
        ("query_range metric", "/loki/api/v1/query_range",
         dict(rng, query=f"sum by (owner) (count_over_time({sel}[1h]))", step="60")),
        ("query instant metric", "/loki/api/v1/query",
         {"query": f"sum by (owner, service_name) (count_over_time({sel}[2h]))", "time": end}),
        ("labels", "/loki/api/v1/labels", rng),
        ("label values owner", "/loki/api/v1/label/owner/values", rng),
        ("label values service_name", "/loki/api/v1/label/service_name/values", rng),
        ("series", "/loki/api/v1/series", dict(rng, **{"match[]": sel})),
        ("index/stats", "/loki/api/v1/index/stats", dict(rng, query=sel)),
        ("index/volume", "/loki/api/v1/index/volume", dict(rng, query=sel)),
        ("index/volume_range", "/loki/api/v1/index/volume_range", dict(rng, query=sel, step="60")),
        ("detected_labels", "/loki/api/v1/detected_labels", dict(rng, query=sel)),
        ("detected_fields", "/loki/api/v1/detected_fields", dict(rng, query=sel)),
        ("detected_field values msg", "/loki/api/v1/detected_field/msg/values",
         dict(rng, query=sel)),
        ("format_query", "/loki/api/v1/format_query", {"query": sel}),
        ("limits", "/config/tenant/v1/limits", {}),
        ("drilldown-limits", "/loki/api/v1/drilldown-limits", {}),
    ]


def get(srv, path, params, headers, listener="loki"):
    q = urllib.parse.urlencode(params)
    return http("GET", srv.url(listener, path + ("?" + q if q else "")), None, headers, timeout=30)


def expected_rows(t):
    return N_LOKI[t] + N_ACCT + 1  # Loki push + OTLP with account + OTLP without


def check_tenant_answer(srv, t, headers=None):
    """Every endpoint for tenant t: no foreign marker anywhere; exact own counts."""
    h = headers or {"X-Scope-OrgID": t}
    for name, path, params in endpoints():
        st, _, b = get(srv, path, params, h)
        assert st == 200, (t, name, st, b)
        assert not foreign(t, b), (t, name, foreign(t, b), b[:500])
        j = loads(b) if b[:1] in (b"{", b"[") else None
        if name == "query_range log":
            lines = [v[1] for s in j["data"]["result"] for v in s["values"]]
            assert len(lines) == expected_rows(t), (t, len(lines), lines)
            assert all(marker(t) in l for l in lines), (t, lines)
        elif name == "query_range trace filter":
            lines = [v[1] for s in j["data"]["result"] for v in s["values"]]
            assert len(lines) == N_LOKI[t], (t, name, lines)
        elif name == "query instant metric":
            got = sum(int(float(r["value"][1])) for r in j["data"]["result"])
            assert got == expected_rows(t), (t, name, j)
            assert {r["metric"].get("owner") for r in j["data"]["result"]} == {t}, j
        elif name == "label values owner":
            assert j["data"] == [t], (t, j)
        elif name == "label values service_name":
            # "load" is the concurrent phase's service
            assert "shared" in j["data"] and set(j["data"]) <= {"shared", "load"}, (t, j)
        elif name == "series":
            # OTLP resource attributes other than service.name are not stream labels
            owners = {s.get("owner") for s in j["data"]}
            assert t in owners and owners <= {t, None}, (t, j)
        elif name == "index/stats":
            assert j["entries"] == expected_rows(t), (t, j)
        elif name == "detected_field values msg":
            assert j["values"] and all(marker(t) in v for v in j["values"]), (t, j)
        elif name == "index/volume":
            got = sum(int(float(r["value"][1])) for r in j["data"]["result"])
            assert got > 0, (t, j)


def run(srv, after_shift, fill=True):
    sfx = " (after shift: Iceberg data files)" if after_shift else " (WAL)"
    if fill:
        def fill_all():
            for t in TENANTS:
                st, _, b = http("POST", srv.url("loki", "/loki/api/v1/push"), loki_body(t),
                                {"X-Scope-OrgID": t, "Content-Type": "application/json"})
                assert st == 204, (t, st, b)
                for acct, n in (("acct-1", N_ACCT), (None, 1)):
                    h = {"X-Scope-OrgID": t, "Content-Type": "application/json"}
                    if acct:
                        h["X-Account-ID"] = acct
                    st, _, b = http("POST", srv.url("otlp_http", "/v1/logs"), otlp_logs(t, n), h)
                    assert st == 200, (t, st, b)
                for path, body in (("/v1/traces", otlp_traces(t)), ("/v1/metrics", otlp_metrics(t))):
                    st, _, b = http("POST", srv.url("otlp_http", path), body,
                                    {"X-Scope-OrgID": t, "Content-Type": "application/json"})
                    assert st == 200, (t, path, st, b)
        check("fill three tenants with colliding services, labels, values and trace ids "
              "(Loki push, OTLP logs with/without X-Account-ID, traces, metrics)", fill_all)

    for t in TENANTS:
        check(f"{t}: every Loki endpoint answers its own rows/labels/values/counts only{sfx}",
              lambda t=t: check_tenant_answer(srv, t))

    def accounts():
        for t in TENANTS:
            h = {"X-Scope-OrgID": t, "X-Account-ID": "acct-1"}
            st, _, b = get(srv, "/loki/api/v1/query_range", endpoints()[0][2], h)
            lines = [v[1] for s in loads(b)["data"]["result"] for v in s["values"]]
            assert st == 200 and len(lines) == N_ACCT and not foreign(t, b), (t, lines)
    check(f"X-Account-ID acct-1 (same account id in every tenant) sees its tenant's account "
          f"only{sfx}", accounts)

    def no_tenant_data():
        # a tenant without data answers exactly like an empty tenant, no hint of others
        for name, path, params in endpoints():
            st, _, b = get(srv, path, params, {"X-Scope-OrgID": "iso-nobody"})
            assert st == 200 and not foreign("iso-nobody", b), (name, st, b[:300])
    check(f"an unknown tenant sees nothing on any endpoint{sfx}", no_tenant_data)

    def same_errors():
        # a bad query, a bad label name and a too-long range answer a tenant with data
        # exactly as one without
        bad = [("/loki/api/v1/query_range", {"query": '{service_name="shared"'}),
               ("/loki/api/v1/query_range", {"query": '{service_name="shared"}', "limit": "-1"}),
               ("/loki/api/v1/query_range", {"query": '{service_name="shared"}',
                                             "start": "0", "end": str(time.time_ns())}),
               ("/loki/api/v1/series", {}),
               ("/loki/api/v1/query", {"query": '{service_name="shared"}'})]
        for path, params in bad:
            ans = set()
            for t in TENANTS + ["iso-nobody"]:
                st, _, b = get(srv, path, params, {"X-Scope-OrgID": t})
                assert 400 <= st < 500 and not foreign(t, b), (t, path, st, b)
                ans.add((st, b.replace(t.encode(), b"T")))
            assert len(ans) == 1, (path, ans)
    check(f"errors (bad query, bad limit, range too long, missing match[], log query as "
          f"instant) are the same for every tenant, with or without data{sfx}", same_errors)

    def bad_headers():
        for name, path, params in endpoints():
            if name == "format_query":
                continue  # tenant-free (parses the query only)
            answers = {}
            for label, hdr in (("none", None), ("empty", ""), ("bad char", "iso-a/../iso-b"),
                               ("too long", "a" * 151), ("dot", "."),
                               ("a|b disabled", "iso-a|iso-b"),
                               ("a|nobody disabled", "iso-a|iso-nobody"),
                               ("x|y disabled", "iso-x|iso-y")):
                h = {} if hdr is None else {"X-Scope-OrgID": hdr}
                st, _, b = get(srv, path, params, h)
                assert st in (400, 401), (name, label, st, b)
                answers[label] = (st, b.replace((hdr or "").encode(), b"HDR"))
            # whether the named tenants exist does not change the answer
            for a, o in (("a|b disabled", "x|y disabled"), ("a|nobody disabled", "x|y disabled")):
                assert answers[a] == answers[o], (name, answers[a], answers[o])
            assert answers["none"][0] == 401, (name, answers["none"])
    check(f"no header (401), invalid headers and a|b while multi-tenant queries are off "
          f"(400) on every endpoint; the answer does not depend on which tenants exist{sfx}",
          bad_headers)

    def push_bad():
        for hdr in (None, "iso-a|iso-b", "bad/tenant"):
            h = {"Content-Type": "application/json"}
            if hdr is not None:
                h["X-Scope-OrgID"] = hdr
            for lst, path, body in (("loki", "/loki/api/v1/push", loki_body("iso-a")),
                                    ("otlp_http", "/loki/api/v1/push", loki_body("iso-a")),
                                    ("otlp_http", "/v1/logs", otlp_logs("iso-a", 1)),
                                    ("otlp_http", "/v1/traces", otlp_traces("iso-a")),
                                    ("otlp_http", "/v1/metrics", otlp_metrics("iso-a"))):
                st, _, b = http("POST", srv.url(lst, path), body, h)
                assert st == (401 if hdr is None else 400), (hdr, lst, path, st, b)
        # nothing of those refused pushes was stored
        check_tenant_answer(srv, "iso-a")
    if not after_shift:
        check("push/OTLP with no, several or invalid tenants refused and nothing stored",
              push_bad)

    def tail():
        st, _, b = get(srv, "/loki/api/v1/tail", {"query": '{service_name="shared"}'},
                       {"X-Scope-OrgID": "iso-a"})
        if st == 501:  # not built in this binary: it must say so
            assert b"tail" in b, b
            print("# tail is not implemented (501): isolation over tail not checked")
            return
        for t in TENANTS:
            frames = ws_tail(srv, t, '{service_name="shared"}', str(T0 - 10**9))
            text = "".join(frames)
            assert frames and not foreign(t, text), (t, text[:500])
            n = sum(len(json.loads(f).get("streams", [{}])[0].get("values", []))
                    for f in frames if f.startswith("{") and json.loads(f).get("streams"))
            lines = [v[1] for f in frames for s in json.loads(f).get("streams", [])
                     for v in s["values"]]
            assert len(lines) == expected_rows(t) and all(marker(t) in l for l in lines), \
                (t, n, lines)
        for hdr, want in ((None, 401), ("iso-a|iso-b", 400)):
            h = {} if hdr is None else {"X-Scope-OrgID": hdr}
            st, _, b = get(srv, "/loki/api/v1/tail", {"query": '{service_name="shared"}'}, h)
            assert st == want, (hdr, st, b)
    check(f"tail (WebSocket): each tenant's own entries only; no header 401, a|b 400{sfx}", tail)

    def tempo_prom():
        for t in TENANTS:
            for lst, path in (("tempo", f"/api/traces/{TRACE}"), ("tempo", "/api/search"),
                              ("prometheus", "/api/v1/query?query=shared_requests"),
                              ("prometheus", "/api/v1/labels")):
                st, _, b = http("GET", srv.url(lst, path), None, {"X-Scope-OrgID": t})
                # not built yet: 501 naming the API. When they land, this must become the
                # same isolation check as the Loki endpoints.
                assert st == 501 and b"not implemented" in b, (lst, path, st, b)
                assert not foreign(t, b), b
    check(f"Tempo and Prometheus APIs: 501 naming the API (isolation checks due when they "
          f"land){sfx}", tempo_prom)

    def concurrent():
        errs = []
        stop = time.time() + 6

        def worker(t, k):
            i = 0
            while time.time() < stop and not errs:
                try:
                    if k == 0:
                        body = json.dumps({"streams": [{"stream": {"service_name": "load",
                                                                   "owner": t},
                                                        "values": [[str(time.time_ns()),
                                                                    f"load {marker(t)} {i}"]]}]})
                        st, _, b = http("POST", srv.url("loki", "/loki/api/v1/push"),
                                        body.encode(), {"X-Scope-OrgID": t,
                                                        "Content-Type": "application/json"})
                        assert st == 204, (st, b)
                    else:
                        name, path, params = endpoints()[i % len(endpoints())]
                        st, _, b = get(srv, path, params, {"X-Scope-OrgID": t})
                        assert st in (200, 429), (t, name, st, b)
                        assert not foreign(t, b), (t, name, foreign(t, b), b[:300])
                        st, _, b = get(srv, "/loki/api/v1/query_range",
                                       {"query": '{service_name="load"}', "limit": "5000",
                                        "start": str(T0)}, {"X-Scope-OrgID": t})
                        assert st == 200 and not foreign(t, b), (t, st, b[:300])
                except Exception as e:  # noqa: BLE001
                    errs.append(repr(e)[:1000])
                i += 1
        ths = [threading.Thread(target=worker, args=(t, k)) for t in TENANTS for k in range(3)]
        for th in ths:
            th.start()
        for th in ths:
            th.join()
        assert not errs, errs[:3]
    check(f"concurrent pushes and queries from all three tenants: no foreign answer{sfx}",
          concurrent)


def ws_tail(srv, tenant, query, start, seconds=2.5):
    """A minimal WebSocket client for /loki/api/v1/tail: the text frames received."""
    q = urllib.parse.urlencode({"query": query, "start": start, "limit": "1000"})
    s = socket.create_connection(("127.0.0.1", srv.ports["loki"]), timeout=5)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET /loki/api/v1/tail?{q} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
               f"Sec-WebSocket-Version: 13\r\nX-Scope-OrgID: {tenant}\r\n\r\n").encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = s.recv(4096)
        assert d, "closed during handshake"
        buf += d
    head, buf = buf.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 101"), head
    frames, end = [], time.time() + seconds
    s.settimeout(0.3)
    while time.time() < end:
        try:
            d = s.recv(65536)
            if not d:
                break
            buf += d
        except socket.timeout:
            pass
        while len(buf) >= 2:
            op, ln, p = buf[0] & 0x0F, buf[1] & 0x7F, 2
            if ln == 126:
                if len(buf) < 4:
                    break
                ln, p = int.from_bytes(buf[2:4], "big"), 4
            elif ln == 127:
                if len(buf) < 10:
                    break
                ln, p = int.from_bytes(buf[2:10], "big"), 10
            if len(buf) < p + ln:
                break
            if op == 1:
                frames.append(buf[p:p + ln].decode())
            buf = buf[p + ln:]
    s.close()
    return frames


def usage(srv):
    def per_tenant():
        st, _, b = http("GET", srv.url("otlp_http", "/metrics"))
        text = b.decode()
        for t in TENANTS:
            for sig in ("logs", "traces", "metrics"):
                for m in ("icegate_ingest_records_total", "icegate_ingest_bytes_total"):
                    vals = [float(v) for lbl, v in re.findall(rf'{m}\{{([^}}]*)\}} (\S+)', text)
                            if f'tenant="{t}"' in lbl and f'signal="{sig}"' in lbl
                            and 'outcome="accepted"' in lbl]
                    assert vals and sum(vals) > 0, (m, t, sig)
            assert re.search(rf'icegate_tenant_stored_bytes\{{tenant="{t}"\}} [1-9]', text), t
        # rejections by reason, for the tenant that was refused only
        st, _, b = http("POST", srv.url("loki", "/loki/api/v1/push"), json.dumps({"streams": [{
            "stream": {"job": "big"}, "values": [[str(time.time_ns()), "x" * 300000]]}]}).encode(),
            {"X-Scope-OrgID": "iso-c", "Content-Type": "application/json"})
        assert st == 400, (st, b)
        text = http("GET", srv.url("otlp_http", "/metrics"))[2].decode()
        rej = re.findall(r'icegate_ingest_rejected_requests_total\{([^}]*)\} (\S+)', text)
        assert any('tenant="iso-c"' in l and 'reason="line_too_long"' in l and float(v) >= 1
                   for l, v in rej), rej
        assert not any('tenant="iso-a"' in l or 'tenant="iso-b"' in l for l, _ in rej), rej
    check("/metrics: per tenant ingested records and bytes per signal, stored bytes, "
          "rejections by reason (only for the refused tenant)", per_tenant)

    def queries():
        st, _, b = http("GET", srv.url("loki", "/metrics"))
        text = b.decode()
        assert re.search(r'icegate_quer\w*\{[^}]*tenant="iso-a"', text), \
            "no per-tenant query count/latency series on /metrics"
    check("/metrics: per tenant queries and their latency", queries)


def multi(srv):
    rng = {"start": str(T0 - 10**9), "end": str(time.time_ns() + 10**9)}

    def labelled():
        st, _, b = get(srv, "/loki/api/v1/query_range",
                       dict(rng, query='{service_name="shared"}', limit="1000"),
                       {"X-Scope-OrgID": "iso-b|iso-a|iso-a"})
        assert st == 200, (st, b)
        res = loads(b)["data"]["result"]
        by = {}
        for s in res:
            tid = s["stream"].get("__tenant_id__")
            assert tid in ("iso-a", "iso-b"), s["stream"]
            assert s["stream"].get("owner") in (None, tid), s["stream"]
            for v in s["values"]:
                assert marker(tid) in v[1], (tid, v)
            by[tid] = by.get(tid, 0) + len(s["values"])
        assert by == {t: expected_rows(t) for t in ("iso-a", "iso-b")}, by
        assert marker("iso-c") not in b.decode()
    check("multi-tenant on: a|b (unsorted, duplicated) answers both tenants, each row "
          "labelled __tenant_id__, never c's", labelled)

    def matcher():
        st, _, b = get(srv, "/loki/api/v1/query_range",
                       dict(rng, query='{service_name="shared", __tenant_id__="iso-b"}',
                            limit="1000"), {"X-Scope-OrgID": "iso-a|iso-b|iso-c"})
        assert st == 200, (st, b)
        lines = [v[1] for s in loads(b)["data"]["result"] for v in s["values"]]
        assert len(lines) == expected_rows("iso-b") and all(marker("iso-b") in l for l in lines)
    check("multi-tenant on: a matcher on __tenant_id__ selects tenants", matcher)

    def seed_sum():
        q = 'sum by (tenant_id) (count_over_time({job="app"}[1h]))'
        st, _, b = get(srv, "/loki/api/v1/query", {"query": q, "time": rng["end"]},
                       {"X-Scope-OrgID": "iso-a|iso-b|iso-c"})
        assert st == 200, (st, b)
        got = {r["metric"].get("tenant_id"): int(float(r["value"][1]))
               for r in loads(b)["data"]["result"]}
        assert got == N_LOKI, got
    check("multi-tenant on: sum by (tenant_id) (count_over_time({job=\"app\"}[1h])) per tenant",
          seed_sum)

    def spoof():
        # a stream's own tenant_id label cannot pose as another tenant
        st, _, b = http("POST", srv.url("loki", "/loki/api/v1/push"), json.dumps({"streams": [{
            "stream": {"job": "spoof", "tenant_id": "iso-b"},
            "values": [[str(time.time_ns()), f"spoof {marker('iso-a')}"]]}]}).encode(),
            {"X-Scope-OrgID": "iso-a", "Content-Type": "application/json"})
        assert st == 204, (st, b)
        st, _, b = get(srv, "/loki/api/v1/query_range", dict(rng, query='{job="spoof"}',
                                                             end=str(time.time_ns() + 10**9)),
                       {"X-Scope-OrgID": "iso-a|iso-b"})
        res = loads(b)["data"]["result"]
        assert st == 200 and [r["stream"] for r in res] == [
            {"job": "spoof", "__tenant_id__": "iso-a", "tenant_id": "iso-a",
             "original_tenant_id": "iso-b"}], (st, b)
        st, _, b = get(srv, "/loki/api/v1/query_range",
                       dict(rng, query='{job="spoof", tenant_id="iso-b"}',
                            end=str(time.time_ns() + 10**9)), {"X-Scope-OrgID": "iso-a|iso-b"})
        assert st == 200 and loads(b)["data"]["result"] == [], (st, b)
    check("multi-tenant on: tenant_id is the real tenant (a stream's own tenant_id label "
          "becomes original_tenant_id and selects nothing)", spoof)

    def push_multi():
        for lst, path, body in (("loki", "/loki/api/v1/push", loki_body("iso-a")),
                                ("otlp_http", "/v1/logs", otlp_logs("iso-a", 1)),
                                ("otlp_http", "/v1/traces", otlp_traces("iso-a"))):
            st, _, b = http("POST", srv.url(lst, path), body,
                            {"X-Scope-OrgID": "iso-a|iso-b", "Content-Type": "application/json"})
            assert st == 400, (path, st, b)
        check_tenant_answer(srv, "iso-a")
    check("multi-tenant on: push and OTLP with a|b refused (400), single tenants unchanged",
          push_multi)


if __name__ == "__main__":
    main()

"""OTLP/HTTP ingest end to end: every corpus request, JSON vs protobuf, compression, errors,
tenancy, partial success; stored rows are read back from the WAL with pqtool."""
import gzip
import json
import os
import sys
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from tap import SHARED, Server, check, done, http, loads, wal_rows  # noqa: E402

OTLP = os.path.join(SHARED, "corpus", "otlp")
PB = "application/x-protobuf"
JS = "application/json"
SIGNAL_TABLE = {"logs": "logs", "traces": "spans", "metrics": "metrics"}

srv = Server()
srv.wait_ready("otlp_http")
DATA = os.path.join(srv.dir, "data")


def post(signal, body, ctype, tenant="t1", extra=None):
    h = {"Content-Type": ctype}
    if tenant is not None:
        h["X-Scope-OrgID"] = tenant
    h.update(extra or {})
    return http("POST", srv.url("otlp_http", f"/v1/{signal}"), body=body, headers=h)


def read(name):
    with open(os.path.join(OTLP, name), "rb") as f:
        return f.read()


def rows_of(table, tenant):
    return [r for r in wal_rows(DATA, table) if r["tenant_id"] == tenant]


def comparable(rows):
    out = []
    for r in rows:
        r = dict(r)
        r.pop("tenant_id", None)
        r.pop("ingested_timestamp", None)
        out.append(json.dumps(r, sort_keys=True))
    return sorted(out)


PAIRS = [("logs", "proto-examples-logs"), ("logs", "collector-pdata-logs"),
         ("traces", "proto-examples-trace"), ("traces", "collector-pdata-traces"),
         ("metrics", "proto-examples-metrics")]


def make_pair_test(signal, base):
    def t():
        tj, tp = f"{base}-json", f"{base}-pb"
        st, h, b = post(signal, read(base + ".json"), JS, tj)
        assert st == 200, (st, b)
        assert h["content-type"].startswith(JS), h
        loads(b)
        st, h, b = post(signal, read(base + ".pb"), PB, tp)
        assert st == 200, (st, b)
        assert h["content-type"].startswith(PB), h
        table = SIGNAL_TABLE[signal]
        rj, rp = rows_of(table, tj), rows_of(table, tp)
        assert len(rj) > 0, "nothing stored"
        assert comparable(rj) == comparable(rp), (comparable(rj)[:2], comparable(rp)[:2])
        if signal == "logs":
            ej, ep = rows_of("events", tj), rows_of("events", tp)
            assert comparable(ej) == comparable(ep)
        if base.startswith("collector-pdata"):
            # the envelope is kept too: schema URLs and dropped attribute counts
            req = json.loads(read(base + ".json"))
            res = req[[k for k in req if k.startswith("resource")][0]][0]
            scope = res[[k for k in res if k.startswith("scope")][0]][0]
            assert {r["resource_schema_url"] for r in rj} == {res["schemaUrl"]}, rj[0]
            assert {r["scope_schema_url"] for r in rj} == {scope["schemaUrl"]}, rj[0]
            assert {r["resource_dropped_attributes_count"] for r in rj} == \
                {res["resource"].get("droppedAttributesCount")}, rj[0]
            assert {r["scope_dropped_attributes_count"] for r in rj} == \
                {scope["scope"].get("droppedAttributesCount")}, rj[0]
    return t


for sig, base in PAIRS:
    check(f"{base}: JSON and protobuf store identical rows", make_pair_test(sig, base))


def t_gzip_variants():
    for name, ctype, sig in [("proto-examples-logs.pb.gz", PB, "logs"),
                             ("proto-examples-logs.json.gz", JS, "logs"),
                             ("proto-examples-trace.pb.gz", PB, "traces"),
                             ("proto-examples-trace.json.gz", JS, "traces")]:
        tenant = "gz-" + name.replace(".", "-")
        st, _, b = post(sig, read(name), ctype, tenant, {"Content-Encoding": "gzip"})
        assert st == 200, (name, st, b)
        plain = "proto-examples-" + ("logs" if sig == "logs" else "trace") + "-" + ("pb" if ctype == PB else "json")
        assert comparable(rows_of(SIGNAL_TABLE[sig], tenant)) == comparable(rows_of(SIGNAL_TABLE[sig], plain)), name


def t_deflate_and_zstd():
    body = read("proto-examples-logs.json")
    st, _, b = post("logs", zlib.compress(body), JS, "deflate-t", {"Content-Encoding": "deflate"})
    assert st == 200, (st, b)
    assert len(rows_of("logs", "deflate-t")) == len(rows_of("logs", "proto-examples-logs-json"))


def t_otlp2parquet_files():
    d = os.path.join(OTLP, "otlp2parquet")
    for f in sorted(os.listdir(d)):
        p = os.path.join(d, f)
        if os.path.isdir(p):
            continue
        sig = "logs" if f.startswith("log") else "traces" if f.startswith("trace") else "metrics"
        if f.endswith(".jsonl"):
            with open(p, "rb") as fh:
                lines = [l for l in fh.read().splitlines() if l.strip()]
            for l in lines:
                st, _, b = post(sig, l, JS, "o2p")
                assert st == 200, (f, st, b)
        elif f.endswith(".json") or f.endswith(".pb"):
            st, _, b = post(sig, read(os.path.join("otlp2parquet", f)), JS if f.endswith(".json") else PB, "o2p")
            assert st == 200, (f, st, b)
    assert len(rows_of("logs", "o2p")) > 0 and len(rows_of("spans", "o2p")) > 0 and len(rows_of("metrics", "o2p")) > 0


def t_invalid_samples_rejected():
    d = os.path.join(OTLP, "otlp2parquet", "invalid")
    expect = {"log_invalid_severity.json": ("logs", "severity"),
              "malformed.json": ("logs", ""),
              "metrics_invalid_temporality.json": ("metrics", "temporality"),
              "trace_invalid_base64.json": ("traces", "Id"),
              "trace_invalid_kind.json": ("traces", "kind"),
              "trace_mixed_encoding.json": ("traces", "Id")}
    for f, (sig, word) in expect.items():
        st, h, b = post(sig, read(os.path.join("otlp2parquet", "invalid", f)), JS, "invalid-t")
        assert st == 400, (f, st, b)
        j = loads(b)
        assert "message" in j and j["message"], (f, j)
        assert word.lower() in j["message"].lower(), (f, j["message"])
    for table in ["logs", "spans", "metrics", "events"]:
        assert rows_of(table, "invalid-t") == [], table


def t_tenancy():
    body = read("proto-examples-logs.json")
    st, _, b = post("logs", body, JS, None)
    assert st == 401 and "no org id" in loads(b)["message"], (st, b)
    st, _, b = post("logs", body, JS, "bad tenant")
    assert st == 400 and "unsupported character" in loads(b)["message"], (st, b)
    st, _, b = post("logs", body, JS, "a|b")
    assert st == 400, (st, b)
    st, _, b = post("logs", body, JS, "acct-t", {"X-Account-ID": "acc-9"})
    assert st == 200, (st, b)
    rows = rows_of("logs", "acct-t")
    assert rows and all(r["account_id"] == "acc-9" for r in rows)
    assert all(r["account_id"] is None for r in rows_of("logs", "proto-examples-logs-json"))


def t_errors():
    st, _, b = post("logs", b"hello", "text/plain")
    assert st == 415, (st, b)
    st, _, b = post("logs", read("proto-examples-logs.pb")[:50], PB, "trunc-t")
    assert st == 400, (st, b)
    st, _, b = post("logs", b'{"resourceLogs": [', JS, "trunc-t")
    assert st == 400 and loads(b)["message"], (st, b)
    st, _, b = post("logs", b'{"resourceLogs": "nope"}', JS, "trunc-t")
    assert st == 400, (st, b)
    bomb = gzip.compress(b"\0" * (64 << 20))
    st, _, b = post("logs", bomb, PB, "trunc-t", {"Content-Encoding": "gzip"})
    assert st == 413, (st, b)
    # over the body cap: answered at once (before the body is sent), in the request's encoding
    import socket
    for ctype in (JS, PB):
        sock = socket.create_connection(("127.0.0.1", srv.ports["otlp_http"]))
        sock.sendall(("POST /v1/logs HTTP/1.1\r\nHost: x\r\nX-Scope-OrgID: trunc-t\r\n"
                      f"Content-Type: {ctype}\r\nContent-Length: {16 * 1024 * 1024 + 10}\r\n\r\n").encode())
        sock.settimeout(10)
        resp = b""
        while b"\r\n\r\n" not in resp:
            resp += sock.recv(4096)
        head, _, rest = resp.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 413"), head
        assert ("content-type: " + ctype).encode() in head.lower(), head
        if ctype == JS:
            n = int([l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0].split(b":")[1])
            while len(rest) < n:
                rest += sock.recv(4096)
            assert "16777216" in loads(rest)["message"], rest
        sock.close()
    st, _, b = post("logs", read("proto-examples-logs.pb"), PB, "trunc-t", {"Content-Encoding": "br"})
    assert st == 415, (st, b)
    assert rows_of("logs", "trunc-t") == []
    st, _, _ = http("GET", srv.url("otlp_http", "/ready"))
    assert st == 200  # still serving


def t_partial_success():
    req = {"resourceSpans": [{"resource": {}, "scopeSpans": [{"spans": [
        {"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174", "name": "ok",
         "startTimeUnixNano": "1544712660000000000", "endTimeUnixNano": "1544712661000000000"},
        {"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b175", "name": "no-start",
         "endTimeUnixNano": "1544712661000000000"}]}]}]}
    st, _, b = post("traces", json.dumps(req).encode(), JS, "partial-t")
    assert st == 200, (st, b)
    j = loads(b)
    assert j["partialSuccess"]["rejectedSpans"] in ("1", 1), j
    assert j["partialSuccess"]["errorMessage"], j
    rows = rows_of("spans", "partial-t")
    assert [r["name"] for r in rows] == ["ok"], rows


def t_invalid_utf8_and_attribute_floods():
    # protobuf string field with invalid UTF-8: body.string_value = b"\xff\xfe"
    def ld(b):
        return bytes([len(b)]) if len(b) < 128 else bytes([(len(b) & 0x7f) | 0x80, len(b) >> 7])
    anyv = b"\x0a" + ld(b"\xff\xfe") + b"\xff\xfe"          # AnyValue.string_value
    rec = b"\x2a" + ld(anyv) + anyv                         # LogRecord.body = 5
    scope_logs = b"\x12" + ld(rec) + rec                     # ScopeLogs.log_records = 2
    res_logs = b"\x12" + ld(scope_logs) + scope_logs         # ResourceLogs.scope_logs = 2
    req = b"\x0a" + ld(res_logs) + res_logs                  # ExportLogsServiceRequest.resource_logs = 1
    st, _, b = post("logs", req, PB, "utf8-t")
    assert st == 400, (st, b)
    # JSON with an invalid UTF-8 byte inside a string
    st, _, b = post("logs", b'{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"body":{"stringValue":"\xff"}}]}]}]}', JS, "utf8-t")
    assert st == 400 and loads(b)["message"], (st, b)
    # thousands of attributes on one record
    attrs = [{"key": f"k{i}", "value": {"intValue": str(i)}} for i in range(5000)]
    body = json.dumps({"resourceLogs": [{"scopeLogs": [{"logRecords": [{"attributes": attrs}]}]}]}).encode()
    st, _, b = post("logs", body, JS, "utf8-t")
    assert st in (400, 413) and "attribute" in loads(b)["message"].lower(), (st, b)
    assert rows_of("logs", "utf8-t") == []
    st, _, _ = http("GET", srv.url("otlp_http", "/ready"))
    assert st == 200


def t_auth_disabled_default_tenant():
    s2 = Server(extra_env={"ICEGATE_AUTH_ENABLED": "false"})
    try:
        s2.wait_ready("otlp_http")
        body = read("proto-examples-logs.json")
        st, _, b = http("POST", s2.url("otlp_http", "/v1/logs"), body=body,
                        headers={"Content-Type": JS})
        assert st == 200, (st, b)
        st, _, b = http("POST", s2.url("otlp_http", "/v1/logs"), body=body,
                        headers={"Content-Type": JS, "X-Scope-OrgID": "someone-else"})
        assert st == 200, (st, b)
        rows = wal_rows(os.path.join(s2.dir, "data"), "logs")
        assert rows and {r["tenant_id"] for r in rows} == {"default"}, {r["tenant_id"] for r in rows}
    finally:
        s2.stop()


def t_methods_paths_and_header_whitespace():
    st, _, _ = http("GET", srv.url("otlp_http", "/v1/logs"))
    assert st == 405, st
    for path in ["/foo", "/v1/logs/", "/V1/LOGS"]:
        st, _, _ = http("POST", srv.url("otlp_http", path), body=b"{}", headers={"Content-Type": JS})
        assert st == 404, (path, st)
    st, _, _ = http("GET", srv.url("loki", "/loki/api/v1/push"))
    assert st == 405, st
    st, _, b = post("logs", read("proto-examples-logs.json"), JS, "  ws-t  ")
    assert st == 200, (st, b)
    assert rows_of("logs", "ws-t"), "tenant header whitespace is not part of the id"


def t_loki_protobuf_invalid_utf8_line():
    import struct
    def varint(n):
        out = b""
        while True:
            b7 = n & 0x7f
            n >>= 7
            out += bytes([b7 | (0x80 if n else 0)])
            if not n:
                return out
    def ld(field, payload):
        return bytes([(field << 3) | 2]) + varint(len(payload)) + payload
    ts = bytes([0x08]) + varint(1_700_000_000) + bytes([0x10]) + varint(5)
    entry = ld(1, ts) + ld(2, b"\xff bad \xc3( line")
    stream = ld(1, b'{job="utf8"}') + ld(2, entry)
    raw = ld(1, stream)
    # snappy block format with one literal (no compression needed)
    n = len(raw)
    lit = bytes([(n - 1) << 2]) if n <= 60 else bytes([60 << 2, n - 1])
    body = varint(n) + lit + raw
    st, _, b = http("POST", srv.url("otlp_http", "/loki/api/v1/push"), body=body,
                    headers={"Content-Type": "application/x-protobuf", "X-Scope-OrgID": "utf8-loki"})
    assert st == 204, (st, b)
    rows = rows_of("logs", "utf8-loki")
    assert [r["body"] for r in rows] == ["\ufffd bad \ufffd( line"], rows


def t_metrics_endpoint_counts():
    st, _, b = http("GET", srv.url("otlp_http", "/metrics"))
    text = b.decode()
    assert 'icegate_ingest_records_total{' in text, text[:2000]


for sig, base in []:
    pass
check("gzip bodies store the same rows", t_gzip_variants)
check("deflate body", t_deflate_and_zstd)
check("otlp2parquet corpus (json, jsonl, pb) accepted", t_otlp2parquet_files)
check("invalid corpus samples get 400 naming the problem, nothing stored", t_invalid_samples_rejected)
check("tenancy: missing/invalid/multiple tenants, account id", t_tenancy)
check("bad input: content type, truncation, invalid JSON, bomb, encoding", t_errors)
check("partial success for a span without start time", t_partial_success)
check("invalid UTF-8 and thousands of attributes get 400, nothing stored", t_invalid_utf8_and_attribute_floods)
check("auth disabled: every request is tenant 'default'", t_auth_disabled_default_tenant)
check("405 for other methods, 404 for unknown paths, header whitespace trimmed", t_methods_paths_and_header_whitespace)
check("Loki protobuf line with invalid UTF-8 stored with U+FFFD", t_loki_protobuf_invalid_utf8_line)
check("ingest metrics on /metrics", t_metrics_endpoint_counts)
rc = srv.stop()
check("server exits cleanly", lambda: None if rc == 0 else (_ for _ in ()).throw(AssertionError(rc)))
done()

"""The read-only Iceberg REST catalog on :8181: config, namespaces, tables, load table (the
metadata JSON verbatim, also after a shift), HEAD, the {prefix} form iceberg-js uses, %1F
namespace separators, REST error objects, 501 for writes, and the bearer token."""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from tap import Server, check, done, http, loads  # noqa: E402

TOKEN = "s3cr3t-token"
srv = Server(config_text=f"maintain:\n  shift_interval: 0s\ncatalog:\n  rest:\n    token: {TOKEN}\n")
srv.wait_ready("catalog")
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def get(path, method="GET", headers=None, body=None):
    h = dict(AUTH)
    h.update(headers or {})
    return http(method, srv.url("catalog", path), headers=h, body=body)


def err(st, h, b, code, typ):
    assert st == code, (st, b)
    assert h["content-type"].startswith("application/json"), h
    e = loads(b)["error"]
    assert e["code"] == code and e["type"] == typ and e["message"], e


def t_config():
    st, h, b = get("/v1/config")
    j = loads(b)
    assert st == 200 and h["content-type"].startswith("application/json")
    assert j["defaults"] == {} and j["overrides"] == {}, j
    assert "GET /v1/{prefix}/namespaces/{namespace}/tables/{table}" in j["endpoints"], j


def t_namespaces_and_tables():
    for prefix in ["", "/icegate"]:
        st, _, b = get(f"/v1{prefix}/namespaces")
        assert st == 200 and loads(b) == {"namespaces": [["icegate"]], "next-page-token": None}, b
        st, _, b = get(f"/v1{prefix}/namespaces/icegate")
        assert st == 200 and loads(b) == {"namespace": ["icegate"], "properties": {}}, b
        st, _, b = get(f"/v1{prefix}/namespaces/icegate/tables")
        j = loads(b)
        assert st == 200 and j["next-page-token"] is None, j
        assert sorted(i["name"] for i in j["identifiers"]) == ["events", "logs", "metrics", "spans"], j
        assert all(i["namespace"] == ["icegate"] for i in j["identifiers"]), j
        st, _, b = get(f"/v1{prefix}/namespaces/icegate/views")
        assert st == 200 and loads(b)["identifiers"] == [], b
    st, _, b = get("/v1/namespaces?parent=icegate")
    assert st == 200 and loads(b)["namespaces"] == [], b


def t_load_table():
    st, h, b = get("/v1/namespaces/icegate/tables/logs")
    j = loads(b)
    assert st == 200 and h["content-type"].startswith("application/json"), (st, b[:200])
    loc = j["metadata-location"]
    assert loc.startswith("file:///") and loc.endswith(".metadata.json"), loc
    with open(loc[len("file://"):]) as f:
        assert j["metadata"] == json.load(f)
    assert j["metadata"]["format-version"] == 2 and j["config"] == {}
    etag = h["etag"]
    st, _, b = get("/v1/namespaces/icegate/tables/logs", headers={"If-None-Match": etag})
    assert st == 304 and b == b"", (st, b)
    # after a shift the catalog serves the new metadata with the snapshot
    st, _, b = http("POST", srv.url("otlp_http", "/v1/logs"), headers={
        "Content-Type": "application/json", "X-Scope-OrgID": "t1"}, body=json.dumps(
        {"resourceLogs": [{"scopeLogs": [{"logRecords": [
            {"timeUnixNano": "1768003200000000000", "body": {"stringValue": "hi"}}]}]}]}).encode())
    assert st == 200, b
    st, _, b = http("POST", srv.url("maintain", "/maintain/run?job=shift"), body=b"")
    assert st == 200, b
    st, _, b = get("/v1/namespaces/icegate/tables/logs")
    j2 = loads(b)
    assert j2["metadata-location"] != loc
    st, h2, _ = get("/v1/namespaces/icegate/tables/logs", headers={"If-None-Match": etag})
    assert st == 200 and h2["etag"] != etag, (st, h2)  # a new version: the old ETag is stale
    snap = j2["metadata"]["current-snapshot-id"]
    s = next(x for x in j2["metadata"]["snapshots"] if x["snapshot-id"] == snap)
    assert s["summary"]["added-records"] == "1" and "icegate.wal-position" in s["summary"], s


def t_head_and_errors():
    st, _, _ = get("/v1/namespaces/icegate/tables/logs", method="HEAD")
    assert st == 204, st
    st, _, _ = get("/v1/namespaces/icegate/tables/nope", method="HEAD")
    assert st == 404, st
    st, _, _ = get("/v1/namespaces/icegate", method="HEAD")
    assert st == 204, st
    err(*get("/v1/namespaces/icegate/tables/nope"), 404, "NoSuchTableException")
    err(*get("/v1/namespaces/other"), 404, "NoSuchNamespaceException")
    err(*get("/v1/namespaces/other/tables"), 404, "NoSuchNamespaceException")
    err(*get("/v1/namespaces/a%1Fb"), 404, "NoSuchNamespaceException")  # levels a, b → "a.b"
    err(*get("/v1/namespaces/icegate/tables", method="POST", body=b"{}"), 501,
        "UnsupportedOperationException")
    err(*get("/v1/namespaces/icegate/tables/logs", method="DELETE"), 501,
        "UnsupportedOperationException")
    err(*get("/v1/whatever"), 404, "NoSuchEndpointException")


def t_token_required():
    for headers in [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}]:
        st, h, b = http("GET", srv.url("catalog", "/v1/namespaces"), headers=headers)
        err(st, h, b, 401, "NotAuthorizedException")
    st, _, _ = http("GET", srv.url("catalog", "/ready"))
    assert st == 200


def t_no_token_configured():
    s = Server(config_text="maintain:\n  shift_interval: 0s\n")
    try:
        s.wait_ready("catalog")
        st, _, b = http("GET", s.url("catalog", "/v1/namespaces"))
        assert st == 200 and loads(b)["namespaces"] == [["icegate"]], (st, b)
    finally:
        s.stop()


check("GET /v1/config: defaults, overrides, the read-only endpoints", t_config)
check("namespaces, namespace, tables, views (with and without a {prefix})", t_namespaces_and_tables)
check("load table: the current metadata JSON verbatim; a shift's snapshot shows up", t_load_table)
check("HEAD 204/404, REST error objects, %1F levels, 501 for writes, unknown endpoint 404",
      t_head_and_errors)
check("bearer token required when configured (401 without / wrong)", t_token_required)
check("no token configured: open", t_no_token_configured)
srv.stop()
done()

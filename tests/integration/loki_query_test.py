#!/usr/bin/env python3
"""Loki query API (port 3100) end to end: data pushed through Loki push (JSON) and OTLP
into fresh tenants, then query_range / query / labels / label values / series with the
exact expected JSON. Each case is data: a query and its parameters, the expected result
(or status and error text). Prints TAP."""
import json
import os
import sys
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from tap import Server, check, done, http, loads  # noqa: E402

S = 10**9
T = 1_700_000_000 * S  # all test data lives in [T, T+10s)
A, B = "lq-tenant-a", "lq-tenant-b"


def ns(x):
    return str(T + int(x * S))


WEB_PROD = {"app": "web", "env": "prod"}
WEB_DEV = {"app": "web", "env": "dev"}
API = {"app": "api"}
L1 = "level=info method=GET status=200 path=/a"
L2 = "level=error method=POST status=500 path=/b"
L3 = "level=info method=GET status=404 path=/c"
LD = 'level=debug msg="hello world"'
J1 = '{"user":{"id":7,"name":"x"},"latency":"150ms","size":"2KB"}'
J2 = "not json <b>"

PUSH = {"streams": [
    {"stream": WEB_PROD, "values": [[ns(1), L1], [ns(2), L2], [ns(3), L3]]},
    {"stream": WEB_DEV, "values": [[ns(2.2), LD, {"trace_id": "t1"}]]},
    {"stream": API, "values": [[ns(1.5), J1], [ns(2.5), J2]]},
]}

DEV_SM = dict(WEB_DEV, trace_id="t1")

# (name, params, expected result list) for query_range log queries over [T, T+10s)
LOG_CASES = [
    ("selector, backward", {"query": '{app="web"}'},
     [{"stream": DEV_SM, "values": [[ns(2.2), LD]]},
      {"stream": WEB_PROD, "values": [[ns(3), L3], [ns(2), L2], [ns(1), L1]]}]),
    ("limit 2 backward keeps the newest", {"query": '{app="web"}', "limit": "2"},
     [{"stream": DEV_SM, "values": [[ns(2.2), LD]]},
      {"stream": WEB_PROD, "values": [[ns(3), L3]]}]),
    ("limit 2 forward keeps the oldest", {"query": '{app="web"}', "limit": "2", "direction": "FORWARD"},
     [{"stream": WEB_PROD, "values": [[ns(1), L1], [ns(2), L2]]}]),
    ("[start, end) excludes end", {"query": '{app="web"}', "start": ns(2), "end": ns(3)},
     [{"stream": DEV_SM, "values": [[ns(2.2), LD]]},
      {"stream": WEB_PROD, "values": [[ns(2), L2]]}]),
    ("RFC3339 and float-second times", {"query": '{app="web", env="prod"}', "start": "2023-11-14T22:13:21Z",
                                         "end": "1700000002.5"},
     [{"stream": WEB_PROD, "values": [[ns(2), L2], [ns(1), L1]]}]),
    ("line filter or", {"query": '{app="web"} |= "POST" or "debug"', "direction": "forward"},
     [{"stream": DEV_SM, "values": [[ns(2.2), LD]]},
      {"stream": WEB_PROD, "values": [[ns(2), L2]]}]),
    ("logfmt and numeric filter", {"query": '{app="web", env="prod"} | logfmt | status >= 400'},
     [{"stream": dict(WEB_PROD, level="error", method="POST", path="/b", status="500"), "values": [[ns(2), L2]]},
      {"stream": dict(WEB_PROD, level="info", method="GET", path="/c", status="404"), "values": [[ns(3), L3]]}]),
    ("line_format then keep", {"query": '{app="web", env="prod"} |= "GET" | logfmt | line_format "{{.method}} {{.path | ToUpper}}" | keep app'},
     [{"stream": {"app": "web"}, "values": [[ns(3), "GET /C"], [ns(1), "GET /A"]]}]),
    ("json flattening", {"query": '{app="api"} | json | __error__=""'},
     [{"stream": {"app": "api", "latency": "150ms", "size": "2KB", "user_id": "7", "user_name": "x"},
       "values": [[ns(1.5), J1]]}]),
    ("json error label", {"query": '{app="api"} | json | __error__!="" | drop __error_details__'},
     [{"stream": {"__error__": "JSONParserErr", "app": "api"}, "values": [[ns(2.5), J2]]}]),
    ("duration and bytes filters", {"query": '{app="api"} | json | __error__="" | latency > 100ms and size >= 2kB | keep app'},
     [{"stream": {"app": "api"}, "values": [[ns(1.5), J1]]}]),
    ("regexp parser", {"query": '{app="web", env="prod"} | regexp "method=(?P<m>\\\\w+)" | keep m'},
     [{"stream": {"m": "GET"}, "values": [[ns(3), L3], [ns(1), L1]]},
      {"stream": {"m": "POST"}, "values": [[ns(2), L2]]}]),
    ("pattern parser", {"query": '{app="web"} | pattern "level=<lvl> <_>" | lvl="error" | keep lvl'},
     [{"stream": {"lvl": "error"}, "values": [[ns(2), L2]]}]),
    ("structured metadata filter", {"query": '{app="web"} | trace_id="t1"'},
     [{"stream": DEV_SM, "values": [[ns(2.2), LD]]}]),
    ("label_format rename", {"query": '{app="web", env="dev"} | label_format where=env | drop trace_id'},
     [{"stream": {"app": "web", "where": "dev"}, "values": [[ns(2.2), LD]]}]),
    ("errors pass numeric filters (only string matchers see __error__)",
     {"query": '{app="api"} | json | latency > 100ms | keep app | drop __error_details__'},
     [{"stream": {"__error__": "JSONParserErr", "app": "api"}, "values": [[ns(2.5), J2]]},
      {"stream": {"app": "api"}, "values": [[ns(1.5), J1]]}]),
    ("interval forward", {"query": '{app="web"}', "direction": "forward", "interval": "1s"},
     [{"stream": WEB_PROD, "values": [[ns(1), L1], [ns(2), L2], [ns(3), L3]]}]),
    ("interval backward with limit", {"query": '{app="web"}', "interval": "0.5", "limit": "2"},
     [{"stream": DEV_SM, "values": [[ns(2.2), LD]]},
      {"stream": WEB_PROD, "values": [[ns(3), L3]]}]),
    ("interval backward", {"query": '{app="web"}', "interval": "500ms"},
     [{"stream": DEV_SM, "values": [[ns(2.2), LD]]},
      {"stream": WEB_PROD, "values": [[ns(3), L3], [ns(1), L1]]}]),
    ("no match", {"query": '{app="nope"}'}, []),
]

ERROR_CASES = [
    ("parse error", "/loki/api/v1/query_range", {"query": '{app="web"'}, 400,
     "parse error at line 1, col 11: syntax error: unexpected end of input, expecting }"),
    ("limit <= 0", "/loki/api/v1/query_range", {"query": '{app="web"}', "limit": "0"}, 400,
     "limit must be a positive value"),
    ("bad direction", "/loki/api/v1/query_range", {"query": '{app="web"}', "direction": "up"}, 400,
     "invalid direction 'up'"),
    ("limit over max entries", "/loki/api/v1/query_range", {"query": '{app="web"}', "limit": "5001"}, 400,
     "max entries limit per query exceeded, limit > max_entries_limit_per_query (5001 > 5000)"),
    ("end before start", "/loki/api/v1/query_range", {"query": '{app="web"}', "start": ns(5), "end": ns(1)}, 400,
     "end timestamp must not be before or equal to start time"),
    ("query longer than max_query_length", "/loki/api/v1/query_range",
     {"query": '{app="web"}', "start": ns(0), "end": str(T + 745 * 3600 * S)}, 400,
     "the query time range exceeds the limit (query length: 31d1h, limit: 30d1h)"),
    ("log query on /query", "/loki/api/v1/query", {"query": '{app="web"}', "time": ns(10)}, 400,
     "log queries are not supported as an instant query type, please change your query to a range query type"),
    ("empty-compatible selector", "/loki/api/v1/query_range", {"query": '{app=~".*"}'}, 400, None),
    ("unknown endpoint names itself", "/loki/api/v1/patterns", {"query": '{app="web"}'}, 501,
     "/loki/api/v1/patterns is not implemented yet"),
    ("unsupported template function", "/loki/api/v1/query_range",
     {"query": '{app="web"} | line_format `{{ toDate "2006" .app }}`'},
     501, "template function toDate is not supported yet"),
]


def get(srv, path, params, tenant=A, headers=None):
    h = dict(headers or {})
    if tenant:
        h["X-Scope-OrgID"] = tenant
    return http("GET", srv.url("loki", path + "?" + urllib.parse.urlencode(params)), headers=h)


def range_params(p):
    q = {"start": ns(0), "end": ns(10)}
    q.update(p)
    return q


def multi_tenant():
    """auth.multi_tenant_queries on: a|b merges both tenants with __tenant_id__."""
    srv = Server(extra_env={"ICEGATE_MULTI_TENANT_QUERIES": "true"})
    try:
        srv.wait_ready()
        for t, line in (("mt-a", "from a"), ("mt-b", "from b")):
            st, _, _ = http("POST", srv.url("loki", "/loki/api/v1/push"),
                            json.dumps({"streams": [{"stream": {"app": "x"}, "values": [[ns(1), line]]}]}).encode(),
                            {"Content-Type": "application/json", "X-Scope-OrgID": t})
            assert st == 204

        def both():
            st, _, body = get(srv, "/loki/api/v1/query_range", range_params({"query": '{app="x"}'}), tenant="mt-b|mt-a")
            assert st == 200, body
            assert loads(body)["data"]["result"] == [
                {"stream": {"__tenant_id__": "mt-a", "app": "x", "tenant_id": "mt-a"}, "values": [[ns(1), "from a"]]},
                {"stream": {"__tenant_id__": "mt-b", "app": "x", "tenant_id": "mt-b"}, "values": [[ns(1), "from b"]]}], body
            st, _, body = get(srv, "/loki/api/v1/query_range",
                              range_params({"query": '{app="x", __tenant_id__="mt-b"}'}), tenant="mt-a|mt-b")
            assert loads(body)["data"]["result"] == [
                {"stream": {"__tenant_id__": "mt-b", "app": "x", "tenant_id": "mt-b"}, "values": [[ns(1), "from b"]]}], body
            st, _, body = get(srv, "/loki/api/v1/label/__tenant_id__/values", {"start": ns(0), "end": ns(10)},
                              tenant="mt-a|mt-b")
            assert loads(body) == {"status": "success", "data": ["mt-a", "mt-b"]}, body
            st, _, body = get(srv, "/loki/api/v1/query",
                              {"query": 'sum by (__tenant_id__) (count_over_time({app="x"}[10s]))', "time": ns(10)},
                              tenant="mt-a|mt-b")
            assert [r["metric"] for r in loads(body)["data"]["result"]] == [
                {"__tenant_id__": "mt-a"}, {"__tenant_id__": "mt-b"}], body
            st, _, body = get(srv, "/loki/api/v1/query_range", range_params({"query": '{app="x"}'}), tenant="mt-a|mt-a")
            assert loads(body)["data"]["result"] == [{"stream": {"app": "x"}, "values": [[ns(1), "from a"]]}], body
        check("multi-tenant queries: __tenant_id__ label and selection", both)
    finally:
        srv.stop()


def query_limits():
    """Per-tenant query limits from the config: a query rate and max_query_length."""
    srv = Server(config_text="limits:\n  max_queries_per_second: 0.5\n  max_query_length: 1h\n")
    try:
        srv.wait_ready()

        def rate_and_length():
            p = {"query": '{app="x"}', "start": ns(0), "end": ns(10)}
            st, _, body = get(srv, "/loki/api/v1/query_range", p, tenant="ql-a")
            assert st == 200, body
            st, hd, body = get(srv, "/loki/api/v1/query_range", p, tenant="ql-a")
            assert st == 429 and body.startswith(b"too many outstanding requests (limit: "), (st, body)
            assert int(hd.get("retry-after", "0")) >= 1, hd
            st, _, body = get(srv, "/loki/api/v1/query_range", p, tenant="ql-b")  # its own bucket
            assert st == 200, body
            st, _, body = get(srv, "/loki/api/v1/query_range",
                              {"query": '{app="x"}', "start": ns(0), "end": str(T + 7200 * S)}, tenant="ql-c")
            assert st == 400 and body == b"the query time range exceeds the limit (query length: 2h, limit: 1h)\n", body
        check("query limits: max_queries_per_second (429 + Retry-After), max_query_length", rate_and_length)
    finally:
        srv.stop()


def after_shift():
    """The same answers once the WAL is shifted into Iceberg data files, and Iceberg plus
    the WAL after the snapshot as one view (no row twice, none missing)."""
    srv = Server(config_text="maintain:\n  shift_interval: 0s\n  wal_grace_period: 0s\n")
    try:
        srv.wait_ready()
        srv.wait_ready("maintain")
        st, _, body = http("POST", srv.url("loki", "/loki/api/v1/push"), json.dumps(PUSH).encode(),
                           {"Content-Type": "application/json", "X-Scope-OrgID": A})
        assert st == 204, body
        st, _, body = http("POST", srv.url("maintain", "/maintain/run?job=shift"), body=b"", timeout=120)
        assert st == 200, body

        def same_after_shift():
            # the shifted rows live in Iceberg data files now; the WAL segment they came from
            # is covered by the snapshot, so the plan reads the data files instead
            data = [f for _, _, fs in os.walk(os.path.join(srv.dir, "data", "warehouse", "icegate", "logs", "data"))
                    for f in fs if f.endswith(".parquet")]
            assert data, "no Iceberg data file after shift"
            for name, params, want in LOG_CASES:
                st, _, body = get(srv, "/loki/api/v1/query_range", range_params(params))
                assert st == 200, (name, body)
                assert loads(body)["data"]["result"] == want, (name, body)
            st, _, body = get(srv, "/loki/api/v1/series", {"start": ns(0), "end": ns(10), "match[]": '{app="web"}'})
            assert loads(body) == {"status": "success", "data": [WEB_DEV, WEB_PROD]}, body
        check("after shift: every log case answers the same from Iceberg", same_after_shift)

        def iceberg_plus_wal():
            st, _, _ = http("POST", srv.url("loki", "/loki/api/v1/push"),
                            json.dumps({"streams": [{"stream": WEB_PROD, "values": [[ns(4), "new line"]]}]}).encode(),
                            {"Content-Type": "application/json", "X-Scope-OrgID": A})
            assert st == 204
            st, _, body = get(srv, "/loki/api/v1/query_range", range_params({"query": '{app="web", env="prod"}'}))
            assert loads(body)["data"]["result"] == [
                {"stream": WEB_PROD, "values": [[ns(4), "new line"], [ns(3), L3], [ns(2), L2], [ns(1), L1]]}], body
            st, _, body = get(srv, "/loki/api/v1/query",
                              {"query": 'sum(count_over_time({app=~".+"}[10s]))', "time": ns(10)})
            assert loads(body)["data"]["result"][0]["value"][1] == "7", body
        check("Iceberg plus the WAL after the snapshot: no row twice, none missing", iceberg_plus_wal)
    finally:
        srv.stop()


def main():
    after_shift()
    query_limits()
    multi_tenant()
    srv = Server()
    try:
        srv.wait_ready()
        st, _, body = http("POST", srv.url("loki", "/loki/api/v1/push"), json.dumps(PUSH).encode(),
                           {"Content-Type": "application/json", "X-Scope-OrgID": A})
        assert st == 204, (st, body)
        # tenant B gets one stream of its own
        st, _, _ = http("POST", srv.url("loki", "/loki/api/v1/push"),
                        json.dumps({"streams": [{"stream": {"app": "other"}, "values": [[ns(1), "b line"]]}]}).encode(),
                        {"Content-Type": "application/json", "X-Scope-OrgID": B})
        assert st == 204

        for name, params, want in LOG_CASES:
            def case(params=params, want=want):
                st, hd, body = get(srv, "/loki/api/v1/query_range", range_params(params))
                assert st == 200, (st, body)
                assert hd.get("content-type", "").startswith("application/json"), hd
                d = loads(body)
                assert d["status"] == "success"
                assert d["data"]["resultType"] == "streams"
                assert "encodingFlags" not in d["data"]
                assert d["data"]["result"] == want, json.dumps(d["data"]["result"])
                n = sum(len(s["values"]) for s in want)
                assert d["data"]["stats"]["summary"]["totalEntriesReturned"] == n
            check("query_range: " + name, case)

        def html_escaping():
            st, _, body = get(srv, "/loki/api/v1/query_range", range_params({"query": '{app="api"} |= "<b>"'}))
            assert st == 200
            assert b"not json \\u003cb\\u003e" in body, body
        check("lines are JSON-escaped with HTML escaping as Loki does", html_escaping)

        def categorize():
            st, _, body = get(srv, "/loki/api/v1/query_range",
                              range_params({"query": '{app="web", env="dev"} | logfmt'}),
                              headers={"X-Loki-Response-Encoding-Flags": "categorize-labels"})
            assert st == 200, body
            d = loads(body)["data"]
            assert d["encodingFlags"] == ["categorize-labels"]
            assert d["result"] == [{"stream": WEB_DEV, "values": [[ns(2.2), LD, {
                "structuredMetadata": {"trace_id": "t1"}, "parsed": {"level": "debug", "msg": "hello world"}}]]}], d["result"]
            st, _, body = get(srv, "/loki/api/v1/query_range", range_params({"query": '{app="web", env="prod"}', "limit": "1"}),
                              headers={"X-Loki-Response-Encoding-Flags": "categorize-labels"})
            assert loads(body)["data"]["result"] == [{"stream": WEB_PROD, "values": [[ns(3), L3, {}]]}]
        check("categorize-labels: stream labels, structuredMetadata and parsed apart", categorize)

        for name, path, params, status, msg in ERROR_CASES:
            def ecase(path=path, params=params, status=status, msg=msg):
                st, _, body = get(srv, path, range_params(params) if "query_range" in path else params)
                assert st == status, (st, body)
                if msg is not None:
                    assert body.decode().strip() == msg, body
            check("error: " + name, ecase)

        def metric_instant():
            st, _, body = get(srv, "/loki/api/v1/query",
                              {"query": 'sum by (env) (count_over_time({app="web"}[10s]))', "time": ns(10)})
            assert st == 200, body
            d = loads(body)["data"]
            assert d["resultType"] == "vector"
            assert d["result"] == [{"metric": {"env": "dev"}, "value": [1700000010, "1"]},
                                   {"metric": {"env": "prod"}, "value": [1700000010, "3"]}], d["result"]
        check("metric query through /query", metric_instant)

        def post_form_and_log_volume():
            form = urllib.parse.urlencode(range_params({"query": '{app="web", env="prod"}', "limit": "1"})).encode()
            st, _, body = http("POST", srv.url("loki", "/loki/api/v1/query_range"), form,
                               {"X-Scope-OrgID": A, "Content-Type": "application/x-www-form-urlencoded"})
            assert st == 200 and loads(body)["data"]["result"] == [{"stream": WEB_PROD, "values": [[ns(3), L3]]}], body
            # Grafana's log-volume histogram query
            q = 'sum by (level, detected_level) (count_over_time({app="web"} | drop __error__ [1s]))'
            st, _, body = get(srv, "/loki/api/v1/query_range", {"query": q, "start": ns(0), "end": ns(10), "step": "1000ms"})
            assert st == 200, body
            d = loads(body)["data"]
            assert d["resultType"] == "matrix"
            assert d["result"] == [{"metric": {}, "values": [[1700000001, "1"], [1700000002, "1"], [1700000003, "2"]]}], d
        check("POST form parameters; Grafana's log-volume query", post_form_and_log_volume)

        def grafana_health():
            st, _, body = get(srv, "/loki/api/v1/query", {"query": "vector(1)+vector(1)", "time": "4000000000"})
            assert st == 200, body
            assert loads(body)["data"]["result"][0]["value"][1] == "2"
        check("Grafana health check vector(1)+vector(1)", grafana_health)

        def labels():
            st, _, body = get(srv, "/loki/api/v1/labels", {"start": ns(0), "end": ns(10)})
            assert st == 200
            assert loads(body) == {"status": "success", "data": ["app", "env"]}, body
            st, _, body = get(srv, "/loki/api/v1/label/app/values", {"start": ns(0), "end": ns(10)})
            assert loads(body) == {"status": "success", "data": ["api", "web"]}, body
            st, _, body = get(srv, "/loki/api/v1/label/env/values",
                              {"start": ns(0), "end": ns(10), "query": '{app="web"}'})
            assert loads(body) == {"status": "success", "data": ["dev", "prod"]}, body
            st, _, body = get(srv, "/loki/api/v1/series", {"start": ns(0), "end": ns(10), "match[]": '{app="web"}'})
            assert loads(body) == {"status": "success", "data": [WEB_DEV, WEB_PROD]}, body
        check("labels, label values, series", labels)

        def isolation():
            st, _, body = get(srv, "/loki/api/v1/query_range", range_params({"query": '{app="web"}'}), tenant=B)
            assert st == 200 and loads(body)["data"]["result"] == [], body
            st, _, body = get(srv, "/loki/api/v1/query_range", range_params({"query": '{app="other"}'}), tenant=A)
            assert loads(body)["data"]["result"] == [], body
            st, _, body = get(srv, "/loki/api/v1/labels", {"start": ns(0), "end": ns(10)}, tenant=B)
            assert loads(body) == {"status": "success", "data": ["app"]}, body
            st, _, body = get(srv, "/loki/api/v1/label/app/values", {"start": ns(0), "end": ns(10)}, tenant=B)
            assert loads(body) == {"status": "success", "data": ["other"]}, body
            st, _, body = get(srv, "/loki/api/v1/series", {"start": ns(0), "end": ns(10), "match[]": '{app=~".+"}'}, tenant=B)
            assert loads(body) == {"status": "success", "data": [{"app": "other"}]}, body
            st, _, body = get(srv, "/loki/api/v1/labels", {"start": ns(0), "end": ns(10)}, tenant="lq-empty")
            assert loads(body) == {"status": "success"}, body
        check("tenant isolation on query_range, labels, label values, series", isolation)

        def index_endpoints():
            win = {"start": ns(0), "end": ns(10)}
            st, _, body = get(srv, "/loki/api/v1/index/stats", dict(win, query='{app="web"}'))
            assert st == 200, body
            assert loads(body)["streams"] == 2 and loads(body)["entries"] == 4, body
            assert loads(body)["bytes"] == len(L1) + len(L2) + len(L3) + len(LD), body
            st, _, body = get(srv, "/loki/api/v1/index/stats", dict(win, query='{app=~".+"}'), tenant=B)
            assert loads(body)["streams"] == 1 and loads(body)["entries"] == 1, body
            st, _, body = get(srv, "/loki/api/v1/index/volume", dict(win, query='{app=~".+"}'))
            assert st == 200, body
            web, api = len(L1) + len(L2) + len(L3) + len(LD), len(J1) + len(J2)
            assert loads(body) == {"status": "success", "data": {"resultType": "vector", "result": [
                {"metric": {"app": "web"}, "value": [1700000010, str(web)]},
                {"metric": {"app": "api"}, "value": [1700000010, str(api)]}]}}, body
            st, _, body = get(srv, "/loki/api/v1/index/volume",
                              dict(win, query='{app="web"}', targetLabels="env", aggregateBy="labels"))
            assert loads(body)["data"]["result"] == [{"metric": {"env": ""}, "value": [1700000010, str(web)]}], body
            st, _, body = get(srv, "/loki/api/v1/index/volume_range", dict(win, query='{app=~".+"}', step="5s"))
            assert loads(body) == {"status": "success", "data": {"resultType": "matrix", "result": [
                {"metric": {"app": "web"}, "values": [[1700000005, str(web)]]},
                {"metric": {"app": "api"}, "values": [[1700000005, str(api)]]}]}}, body
            st, _, body = get(srv, "/loki/api/v1/detected_labels", dict(win, query='{app=~".+"}'))
            assert st == 200, body
            assert loads(body) == {"detectedLabels": [{"label": "app", "cardinality": 2},
                                                      {"label": "env", "cardinality": 2}]}, body
            st, _, body = get(srv, "/loki/api/v1/detected_fields", dict(win, query='{app="web"}'))
            assert st == 200, body
            lf = ["logfmt"]
            assert loads(body) == {"fields": [
                {"label": "level", "type": "string", "cardinality": 3, "parsers": lf},
                {"label": "method", "type": "string", "cardinality": 2, "parsers": lf},
                {"label": "msg", "type": "string", "cardinality": 1, "parsers": lf},
                {"label": "path", "type": "string", "cardinality": 3, "parsers": lf},
                {"label": "status", "type": "int", "cardinality": 3, "parsers": lf},
                {"label": "trace_id", "type": "string", "cardinality": 1, "parsers": None}], "limit": 1000}, body
            st, _, body = get(srv, "/loki/api/v1/detected_fields", dict(win, query='{app="api"}'))
            assert loads(body)["fields"] == [
                {"label": "latency", "type": "duration", "cardinality": 1, "parsers": ["json"], "jsonPath": ["latency"]},
                {"label": "size", "type": "bytes", "cardinality": 1, "parsers": ["json"], "jsonPath": ["size"]},
                {"label": "user_id", "type": "int", "cardinality": 1, "parsers": ["json"], "jsonPath": ["user", "id"]},
                {"label": "user_name", "type": "string", "cardinality": 1, "parsers": ["json"],
                 "jsonPath": ["user", "name"]}], body
            st, _, body = get(srv, "/loki/api/v1/detected_field/status/values", dict(win, query='{app="web"}'))
            assert st == 200 and loads(body) == {"values": ["200", "404", "500"], "limit": 1000}, body
            st, _, body = get(srv, "/loki/api/v1/detected_field/nope/values", dict(win, query='{app="web"}'))
            assert loads(body) == {"values": [], "limit": 1000}, body
        check("index/stats, index/volume(_range), detected_labels, detected_fields (with tenant isolation)",
              index_endpoints)

        def no_tenant():
            for path in ["/loki/api/v1/query_range", "/loki/api/v1/labels", "/loki/api/v1/series"]:
                st, _, body = get(srv, path, {"query": '{app="web"}'}, tenant=None)
                assert st == 401 and body == b"no org id\n", (path, st, body)
            st, _, body = get(srv, "/loki/api/v1/labels", {}, tenant="bad tenant")
            assert st == 400 and b"unsupported character" in body, body
            st, _, body = get(srv, "/loki/api/v1/labels", {}, tenant=A + "|" + B)
            assert st == 400 and body == b"multiple org IDs present\n", (st, body)
        check("no X-Scope-OrgID: 401 no org id, as ingest answers", no_tenant)

        def otlp():
            req = {"resourceLogs": [{"resource": {"attributes": [
                {"key": "service.name", "value": {"stringValue": "svc1"}},
                {"key": "k8s.pod.name", "value": {"stringValue": "pod1"}},
                {"key": "team", "value": {"stringValue": "x"}}]},
                "scopeLogs": [{"logRecords": [{"timeUnixNano": ns(4), "severityText": "WARN",
                                               "body": {"stringValue": "otlp line"},
                                               "attributes": [{"key": "http.method", "value": {"stringValue": "GET"}}]}]}]}]}
            st, _, body = http("POST", srv.url("otlp_http", "/v1/logs"), json.dumps(req).encode(),
                               {"Content-Type": "application/json", "X-Scope-OrgID": A})
            assert st == 200, (st, body)
            st, _, body = get(srv, "/loki/api/v1/query_range", range_params({"query": '{service_name="svc1"}'}),
                              headers={"X-Loki-Response-Encoding-Flags": "categorize-labels"})
            assert st == 200, body
            res = loads(body)["data"]["result"]
            assert res == [{"stream": {"k8s_pod_name": "pod1", "service_name": "svc1"},
                            "values": [[ns(4), "otlp line", {"structuredMetadata": {
                                "detected_level": "warn", "http_method": "GET", "severity_text": "WARN", "team": "x"}}]]}], res
            st, _, body = get(srv, "/loki/api/v1/query_range",
                              range_params({"query": '{service_name="svc1"} | detected_level="warn" | keep service_name'}))
            assert loads(body)["data"]["result"] == [{"stream": {"service_name": "svc1"}, "values": [[ns(4), "otlp line"]]}]
            st, _, body = get(srv, "/loki/api/v1/labels", {"start": ns(0), "end": ns(10)})
            assert loads(body)["data"] == ["app", "env", "k8s_pod_name", "service_name"], body
        check("OTLP logs visible with Loki's OTLP mapping", otlp)

        def format_query():
            st, _, body = get(srv, "/loki/api/v1/format_query", {"query": '{app="a"}|="x"'}, tenant=None)
            assert st == 200 and loads(body) == {"status": "success", "data": '{app="a"} |= "x"'}, body
            st, _, body = get(srv, "/loki/api/v1/status/buildinfo", {}, tenant=None)
            assert st == 200 and "version" in loads(body)
        check("format_query and buildinfo", format_query)
    finally:
        srv.stop()
    done()


if __name__ == "__main__":
    main()

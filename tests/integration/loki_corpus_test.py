#!/usr/bin/env python3
"""Real input through the Loki query API: every ../shared/corpus/logs file is ingested over
OTLP/HTTP (one record per line, service.name = the file's stem, lines 1 ms apart), then
queries whose answers this test computes independently from the same file (substring and
regex counts, the lines a filter returns, logfmt / json / pattern / regexp extraction) must
match exactly, through /loki/api/v1/query and /query_range, first from the WAL and again
after the shift job has moved the rows into Iceberg data files. Prints TAP."""
import json
import os
import re
import sys
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from tap import SHARED, Server, check, done, http, loads  # noqa: E402

CORPUS = os.path.join(SHARED, "corpus", "logs")
S = 10**9
T = 1_700_000_000 * S
TENANT = "corpus"
AT = str(T + 30 * S)  # instant queries with [1m]: window (T-30s, T+30s] holds every line
NEEDLES = ["error", "ERROR", "INFO", "WARN", "failed", "session", "GET", "block", "=", "zzz-none"]
REGEXES = [r"(?i)error|fail", r"\d{4,}", r"^[A-Z]"]


def lines_of(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    out = [l[:-1] if l.endswith("\r") else l for l in text.split("\n")]
    if out and out[-1] == "":
        out.pop()
    return out


def ingest(srv, service, lines):
    for b in range(0, len(lines), 500):
        recs = [{"timeUnixNano": str(T + (b + i) * 10**6), "body": {"stringValue": l}}
                for i, l in enumerate(lines[b:b + 500])]
        req = {"resourceLogs": [{"resource": {"attributes": [
            {"key": "service.name", "value": {"stringValue": service}}]},
            "scopeLogs": [{"logRecords": recs}]}]}
        st, _, body = http("POST", srv.url("otlp_http", "/v1/logs"), json.dumps(req).encode(),
                           {"Content-Type": "application/json", "X-Scope-OrgID": TENANT}, timeout=60)
        assert st == 200, (st, body[:300])


def instant(srv, q):
    st, _, body = http("GET", srv.url("loki", "/loki/api/v1/query?" + urllib.parse.urlencode({"query": q, "time": AT})),
                       headers={"X-Scope-OrgID": TENANT}, timeout=120)
    assert st == 200, (q, st, body[:300])
    return {json.dumps(r["metric"], sort_keys=True): int(r["value"][1]) for r in loads(body)["data"]["result"]}


def total(srv, q):
    r = instant(srv, "sum(" + q + ")")
    return sum(r.values())


def sel(service):
    return '{service_name="%s"}' % service


def lq_str(s):
    return json.dumps(s)  # a LogQL double-quoted string (JSON escapes are Go escapes here)


def pattern_extract(nodes, line):
    """Loki's pattern parser: anchored at the start, a capture takes the text up to the next
    literal's first occurrence, a trailing capture takes the rest (see pattern/ast)."""
    caps = {}
    if not line or not nodes:
        return caps
    k = 0
    if nodes[0][0] == "lit":
        if not line.startswith(nodes[0][1]):
            return caps
        line = line[len(nodes[0][1]):]
        k = 1
    while k < len(nodes):
        name = nodes[k][1]
        if k + 1 == len(nodes):
            if name != "_":
                caps[name] = line
            return caps
        lit = nodes[k + 1][1]
        k += 2
        i = line.find(lit)
        if i < 0:
            if name != "_":
                caps[name] = line
            return caps
        if name != "_":
            caps[name] = line[:i]
        line = line[i + len(lit):]
    return caps


def by(label, values):
    out = {}
    for v in values:
        key = json.dumps({label: v} if v not in (None, "") else {}, sort_keys=True)
        out[key] = out.get(key, 0) + 1
    return out


def by_service(srv, q_fmt, arg):
    """One instant query over every service at once: {service: count}."""
    r = instant(srv, "sum by (service_name) (count_over_time({service_name=~\".+\"} %s %s [1m]))" % (q_fmt, lq_str(arg)))
    return {json.loads(k).get("service_name"): v for k, v in r.items()}


def nonzero(d):
    return {k: v for k, v in d.items() if v}


def suite(srv, data, phase):
    """Every check once; phase names where the rows are read from (WAL or Iceberg)."""
    def substrings():
        for n in NEEDLES:
            want = nonzero({svc: sum(1 for l in lines if n in l) for svc, lines in data.items()})
            got = by_service(srv, "|=", n)
            assert got == want, (n, got, want)
            want = nonzero({svc: sum(1 for l in lines if n not in l) for svc, lines in data.items()})
            got = by_service(srv, "!=", n)
            assert got == want, ("!=", n, got, want)
    check("%s: |= and != counts per file equal Python's `in` (%d needles, %d files)"
          % (phase, len(NEEDLES), len(data)), substrings)

    def regexes():
        for rx in REGEXES:
            want = nonzero({svc: sum(1 for l in lines if re.search(rx, l)) for svc, lines in data.items()})
            got = by_service(srv, "|~", rx)
            assert got == want, (rx, got, want)
            want = nonzero({svc: sum(1 for l in lines if not re.search(rx, l)) for svc, lines in data.items()})
            got = by_service(srv, "!~", rx)
            assert got == want, ("!~", rx, got, want)
    check("%s: |~ and !~ counts per file equal Python's re" % phase, regexes)

    def range_steps():
        # query_range of a metric: windows (t-1s, t] at t = T, T+1s, ... T+5s; line i of a
        # file is at T + i ms, so it falls in the window ending at T + ceil(i/1000) s
        for op, arg, match in (("|=", "error", lambda l: "error" in l),
                               ("|~", r"(?i)fail|denied", lambda l: re.search(r"(?i)fail|denied", l))):
            want = {}
            for svc, lines in data.items():
                steps = {}
                for i, l in enumerate(lines):
                    if match(l):
                        k = -(-i // 1000)
                        steps[k] = steps.get(k, 0) + 1
                if steps:
                    want[svc] = [[T // S + k, str(c)] for k, c in sorted(steps.items())]
            q = {"query": 'sum by (service_name) (count_over_time({service_name=~".+"} %s %s [1s]))' % (op, lq_str(arg)),
                 "start": str(T), "end": str(T + 5 * S), "step": "1s"}
            st, _, body = http("GET", srv.url("loki", "/loki/api/v1/query_range?" + urllib.parse.urlencode(q)),
                               headers={"X-Scope-OrgID": TENANT}, timeout=120)
            assert st == 200, body[:300]
            res = loads(body)["data"]
            assert res["resultType"] == "matrix", res["resultType"]
            got = {r["metric"]["service_name"]: r["values"] for r in res["result"]}
            assert got == want, (op, arg, got, want)
    check("%s: query_range count_over_time per 1s step equals per-second counts of the file" % phase, range_steps)

    def returned_lines():
        for svc, lines in data.items():
            n = "e"
            want = sorted(l for l in lines if n in l)
            q = {"query": "%s |= %s" % (sel(svc), lq_str(n)), "start": str(T), "end": str(T + 60 * S),
                 "limit": "5000", "direction": "forward"}
            st, _, body = http("GET", srv.url("loki", "/loki/api/v1/query_range?" + urllib.parse.urlencode(q)),
                               headers={"X-Scope-OrgID": TENANT}, timeout=120)
            assert st == 200, body[:300]
            got = sorted(v[1] for s in loads(body)["data"]["result"] for v in s["values"])
            assert got == want, (svc, len(got), len(want))
            # forward order within each stream, timestamps i ms after T
            for s in loads(body)["data"]["result"]:
                ts = [int(v[0]) for v in s["values"]]
                assert ts == sorted(ts), svc
            # backward with a limit: the newest 100 matching lines, newest first
            q = {"query": "%s |~ %s" % (sel(svc), lq_str("[0-9]")), "start": str(T), "end": str(T + 60 * S),
                 "limit": "100"}
            st, _, body = http("GET", srv.url("loki", "/loki/api/v1/query_range?" + urllib.parse.urlencode(q)),
                               headers={"X-Scope-OrgID": TENANT}, timeout=120)
            assert st == 200, body[:300]
            want = [[str(T + i * 10**6), l] for i, l in enumerate(lines) if re.search("[0-9]", l)][::-1][:100]
            got = sorted((v for s in loads(body)["data"]["result"] for v in s["values"]),
                         key=lambda v: -int(v[0]))
            assert got == want, (svc, got[:3], want[:3])
    check("%s: the lines a filter returns (forward, all; backward, limit 100)" % phase, returned_lines)

    def logfmt_levels():
        lines = data["loki-drain-distributor-logfmt"]
        want = by("level", [(re.search(r"(?:^|\s)level=(\S+)", l) or [None, None])[1] for l in lines])
        got = instant(srv, 'sum by (level) (count_over_time(%s | logfmt [1m]))' % sel("loki-drain-distributor-logfmt"))
        assert got == want, (got, want)
    check("%s: logfmt: counts by level equal an independent parse" % phase, logfmt_levels)

    def json_levels():
        lines = data["loki-drain-drone-json"]
        vals = []
        for l in lines:
            try:
                o = json.loads(l)
            except ValueError:
                continue
            if isinstance(o, dict):
                v = o.get("level")
                vals.append(v if isinstance(v, str) else None)
        want = by("level", vals)
        got = instant(srv, 'sum by (level) (count_over_time(%s | json | __error__="" [1m]))' % sel("loki-drain-drone-json"))
        assert got == want, (got, want)
        # a json parameter whose path is missing gives an empty-valued label (Loki keeps it,
        # as its conformance script `json age="user.age"` shows)
        want_m = {}
        for l in lines:
            k = json.dumps({"method": json.loads(l).get("method", "")})
            want_m[k] = want_m.get(k, 0) + 1
        got_m = instant(srv, 'sum by (method) (count_over_time(%s | json m="method" | label_format method=m [1m]))'
                        % sel("loki-drain-drone-json"))
        assert got_m == want_m, (got_m, want_m)
    check("%s: json: counts by level and by a json parameter equal an independent parse" % phase, json_levels)

    def pattern_methods():
        lines = data["apache_access_combined"]
        pat = '<ip> - - [<_>] "<method> <_>" <status> <_>'
        nodes = [("cap", m.group(1)) if m.group(1) else ("lit", m.group(2))
                 for m in re.finditer(r"<([A-Za-z_][A-Za-z0-9_]*)>|((?:(?!<[A-Za-z_][A-Za-z0-9_]*>).)+)", pat)]
        caps = [pattern_extract(nodes, l) for l in lines]
        got = instant(srv, 'sum by (method) (count_over_time(%s | pattern %s [1m]))'
                      % (sel("apache_access_combined"), lq_str(pat)))
        assert got == by("method", [c.get("method") for c in caps]), got
        got = instant(srv, 'sum by (status) (count_over_time(%s | pattern %s [1m]))'
                      % (sel("apache_access_combined"), lq_str(pat)))
        assert got == by("status", [c.get("status") for c in caps]), got
    check("%s: pattern: counts by method and status equal an independent extraction" % phase, pattern_methods)

    def regexp_users():
        lines = data["openssh"]
        rx = r"Invalid user (?P<user>\S+) from"
        want = by("user", [(re.search(rx, l) or {"user": None})["user"] for l in lines])
        got = instant(srv, 'sum by (user) (count_over_time(%s | regexp %s [1m]))' % (sel("openssh"), lq_str(rx)))
        assert got == want, (len(got), len(want))
    check("%s: regexp: counts by a named group equal Python's re" % phase, regexp_users)

    def totals():
        # count_over_time summed over the whole range, one file at a time
        for svc, lines in data.items():
            assert total(srv, "count_over_time(%s [1m])" % sel(svc)) == len(lines), svc
            want = sum(len(l.encode()) for l in lines)
            r = instant(srv, "sum(bytes_over_time(%s [1m]))" % sel(svc))
            assert sum(r.values()) == want, (svc, r, want)
    check("%s: count_over_time and bytes_over_time over the whole range equal the file's lines and bytes"
          % phase, totals)


def main():
    files = sorted(f for f in os.listdir(CORPUS) if f.endswith(".log"))
    data = {f[:-4]: lines_of(os.path.join(CORPUS, f)) for f in files}
    srv = Server(config_text="maintain:\n  shift_interval: 0s\n  wal_grace_period: 0s\n")
    try:
        srv.wait_ready()
        srv.wait_ready("maintain")
        for svc, lines in data.items():
            ingest(srv, svc, lines)
        suite(srv, data, "WAL")

        def shift():
            st, _, body = http("POST", srv.url("maintain", "/maintain/run?job=shift"), body=b"", timeout=120)
            assert st == 200, (st, body[:300])
            files = [f for _, _, fs in os.walk(os.path.join(srv.dir, "data", "warehouse", "icegate", "logs", "data"))
                     for f in fs if f.endswith(".parquet")]
            assert files, "no Iceberg data file after shift"
        check("shift job moves the corpus into Iceberg data files", shift)
        suite(srv, data, "Iceberg")
    finally:
        srv.stop()
    done()


if __name__ == "__main__":
    main()

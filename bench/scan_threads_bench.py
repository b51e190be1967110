#!/usr/bin/env python3
"""Scan threads (loki.scan_threads / ICEGATE_SCAN_THREADS): the same queries over the same
data with 1 thread (row groups read, filtered and emitted one after the other on the
request's thread) and with N (default: every CPU). Prints median latency per query.

    ICEGATE_BIN=build/icegate python3 bench/scan_threads_bench.py [--lines 1000000] [--runs 5]

Data: --lines lines of a few formats (logfmt-ish with level, a needle every 1000 lines)
over one hour in one tenant, pushed through Loki push and shifted into Iceberg data files
(65,536-row row groups)."""
import argparse
import json
import os
import statistics
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "integration", "lib"))
from tap import Server, http  # noqa: E402

QUERIES = [
    ('{job="bench"} |= "needle"', "log", 100),
    ('sum by (level) (count_over_time({job="bench"} |= "error" [1h]))', "metric", 0),
    ('sum(count_over_time({job="bench"} | logfmt | dur > 500 [1h]))', "metric", 0),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--threads", default="1,0")
    a = ap.parse_args()
    cfg = "maintain:\n  shift_interval: 0s\n  wal_grace_period: 0s\n"
    srv = Server(config_text=cfg)
    srv.wait_ready("loki")
    srv.wait_ready("maintain")
    t_end = time.time_ns() - 60 * 10**9
    t0 = t_end - 3600 * 10**9
    step = 3600 * 10**9 // a.lines
    batch = 20000
    levels = ["info", "debug", "warn", "error"]
    for b in range(0, a.lines, batch):
        vals = []
        for i in range(b, min(a.lines, b + batch)):
            lv = levels[i % 4]
            extra = " needle" if i % 1000 == 0 else ""
            vals.append([str(t0 + i * step),
                         f"ts={i} level={lv} msg=\"request handled{extra}\" path=/api/v{i % 7}/item "
                         f"dur={i % 997} user=u{i % 113} status={200 + (i % 5) * 100}"])
        streams = {}
        for v in vals:
            lv = v[1].split("level=")[1].split(" ")[0]
            streams.setdefault(lv, []).append(v)
        body = json.dumps({"streams": [{"stream": {"job": "bench", "level": k}, "values": v}
                                       for k, v in streams.items()]}).encode()
        st, _, r = http("POST", srv.url("loki", "/loki/api/v1/push"), body,
                        {"Content-Type": "application/json", "X-Scope-OrgID": "bench"}, timeout=120)
        assert st == 204, (st, r)
    st, _, r = http("POST", srv.url("maintain", "/maintain/run?job=shift"), body=b"", timeout=600)
    print(f"# {a.lines} lines ingested and shifted ({st})", flush=True)
    srv.stop()
    for th in [int(x) for x in a.threads.split(",")]:
        s2 = Server(like=srv, config_text=cfg, extra_env={"ICEGATE_SCAN_THREADS": str(th)})
        s2.wait_ready("loki")
        for q, kind, limit in QUERIES:
            params = {"query": q, "start": str(t0), "end": str(t_end + 1)}
            if kind == "log":
                params["limit"] = str(limit)
            else:
                params["step"] = "3600"
            url = s2.url("loki", "/loki/api/v1/query_range?" + urllib.parse.urlencode(params))
            times = []
            for _ in range(a.runs + 1):
                t = time.time()
                st, _, body = http("GET", url, headers={"X-Scope-OrgID": "bench"}, timeout=600)
                times.append(time.time() - t)
                assert st == 200, (st, body[:300])
            med = statistics.median(times[1:])
            print(f"threads={th or 'cpus'}\t{med * 1000:8.1f} ms\t{q}", flush=True)
        s2.stop()


if __name__ == "__main__":
    main()

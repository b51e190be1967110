#!/usr/bin/env python3
"""Query cancellation: a query whose client closes the connection stops (IG_ECANCELED, 499
in the request metrics) and releases its max_concurrent_queries slot at once. The slow
path is the test fail point ICEGATE_DEBUG_SCAN_DELAY_MS (every row group takes that much
longer, in slices that notice cancellation)."""
import json
import os
import socket
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from tap import Server, check, done, http  # noqa: E402

DELAY_MS = 3000


def main():
    srv = Server(config_text="limits:\n  max_concurrent_queries: 1\n",
                 extra_env={"ICEGATE_DEBUG_SCAN_DELAY_MS": str(DELAY_MS)})
    try:
        srv.wait_ready("loki")
        ts = time.time_ns() - 10 * 10**9
        body = json.dumps({"streams": [{"stream": {"job": "c"}, "values": [
            [str(ts + i), f"line {i}"] for i in range(100)]}]}).encode()
        st, _, b = http("POST", srv.url("loki", "/loki/api/v1/push"), body,
                        {"Content-Type": "application/json", "X-Scope-OrgID": "tc"})
        assert st == 204, (st, b)
        qs = "/loki/api/v1/query_range?" + urllib.parse.urlencode(
            {"query": '{job="c"}', "limit": 5})
        url = srv.url("loki", qs)
        hdr = {"X-Scope-OrgID": "tc"}

        def slow_and_limited():
            res = {}

            def run():
                t0 = time.time()
                res["st"], _, res["b"] = http("GET", url, headers=hdr, timeout=30)
                res["t"] = time.time() - t0
            th = threading.Thread(target=run)
            th.start()
            time.sleep(0.5)
            st2, _, b2 = http("GET", url, headers=hdr, timeout=30)
            th.join()
            assert res["st"] == 200, res
            assert res["t"] >= DELAY_MS / 1000 * 0.8, res["t"]
            assert st2 == 429 and b"too many outstanding requests" in b2, (st2, b2)
        check("control: the fail point makes a query slow, a second concurrent one gets 429",
              slow_and_limited)

        def cancel_releases():
            port = srv.ports["loki"]
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(f"GET {qs} HTTP/1.1\r\nHost: x\r\nX-Scope-OrgID: tc\r\n\r\n".encode())
            time.sleep(0.5)
            t_close = time.time()
            s.close()
            time.sleep(0.3)
            st, _, b = http("GET", url, headers=hdr, timeout=30)
            assert st == 200, ("slot not released after the client left", st, b)
            assert time.time() - t_close < DELAY_MS / 1000 + 2.5
            _, _, m = http("GET", srv.url("loki", "/metrics"))
            assert any('code="499"' in line and "query_range" in line
                       for line in m.decode().splitlines()), "no 499 recorded"
        check("client closes mid-query: the query stops (499) and its slot is free at once",
              cancel_releases)
    finally:
        srv.stop()
    done()


if __name__ == "__main__":
    main()

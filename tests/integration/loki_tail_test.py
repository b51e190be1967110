#!/usr/bin/env python3
"""Loki live tail over WebSocket (GET /loki/api/v1/tail) with a small stdlib WebSocket
client: handshake, history from `start`, lines pushed while tailing arrive live and in
order, another tenant's lines never arrive, a metric query / bad delay_for / missing
tenant are refused before the upgrade, max_concurrent_tail_requests, the server closes
the socket on shutdown (1001). Also query cancellation: a slow query (fail point
ICEGATE_DEBUG_SCAN_DELAY_MS) whose client goes away releases its max_concurrent_queries
slot quickly."""
import base64
import json
import os
import socket
import struct
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from tap import Server, check, done, http  # noqa: E402


class WS:
    """Minimal RFC 6455 client: masked frames out, text/control frames in."""

    def __init__(self, port, path, headers=None, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Upgrade: websocket",
                 "Connection: Upgrade", f"Sec-WebSocket-Key: {key}",
                 "Sec-WebSocket-Version: 13"]
        for k, v in (headers or {}).items():
            lines.append(f"{k}: {v}")
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            d = self.sock.recv(4096)
            if not d:
                break
            self.buf += d
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        self.head = head.decode("latin-1")
        self.status = int(self.head.split(" ")[1]) if self.head else 0
        self.body = self.buf if self.status != 101 else b""
        if self.status == 101:
            import hashlib
            want = base64.b64encode(hashlib.sha1(
                (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
            assert want in self.head, self.head
        else:  # read the rest of the error body
            self.sock.settimeout(2)
            try:
                while True:
                    d = self.sock.recv(4096)
                    if not d:
                        break
                    self.body += d
            except OSError:
                pass

    def _need(self, n):
        while len(self.buf) < n:
            d = self.sock.recv(65536)
            if not d:
                raise EOFError("connection closed")
            self.buf += d

    def frame(self):
        self._need(2)
        b0, b1 = self.buf[0], self.buf[1]
        assert not (b1 & 0x80), "server frames must not be masked"
        n, at = b1 & 0x7F, 2
        if n == 126:
            self._need(4)
            n, at = struct.unpack(">H", self.buf[2:4])[0], 4
        elif n == 127:
            self._need(10)
            n, at = struct.unpack(">Q", self.buf[2:10])[0], 10
        self._need(at + n)
        payload = self.buf[at:at + n]
        self.buf = self.buf[at + n:]
        return b0 & 0x0F, payload

    def send(self, op, payload=b""):
        mask = os.urandom(4)
        hdr = bytes([0x80 | op])
        n = len(payload)
        hdr += bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack(">H", n)
        self.sock.sendall(hdr + mask + bytes(c ^ mask[i % 4] for i, c in enumerate(payload)))

    def message(self, timeout):
        """Next text message (JSON), answering pings; None on timeout; ('close', code, why)."""
        end = time.time() + timeout
        while time.time() < end:
            self.sock.settimeout(max(0.05, end - time.time()))
            try:
                op, p = self.frame()
            except socket.timeout:
                return None
            if op == 1:
                return json.loads(p)
            if op == 9:
                self.send(10, p)
            if op == 8:
                code = struct.unpack(">H", p[:2])[0] if len(p) >= 2 else 1005
                return ("close", code, p[2:].decode())
        return None

    def close(self):
        try:
            self.send(8, struct.pack(">H", 1000))
        except OSError:
            pass
        self.sock.close()


def push(srv, tenant, lines, labels, ts0=None):
    ts0 = ts0 or time.time_ns()
    body = json.dumps({"streams": [{"stream": labels, "values": [
        [str(ts0 + i), line] for i, line in enumerate(lines)]}]}).encode()
    st, _, b = http("POST", srv.url("loki", "/loki/api/v1/push"), body,
                    {"Content-Type": "application/json", "X-Scope-OrgID": tenant})
    assert st == 204, (st, b)


def entries(msg):
    out = []
    for s in msg.get("streams", []):
        for ts, line in s["values"]:
            out.append((int(ts), line, s["stream"]))
    out.sort(key=lambda e: e[0])
    return out


def collect(ws, want, timeout=10):
    got = []
    end = time.time() + timeout
    while len(got) < want and time.time() < end:
        m = ws.message(end - time.time())
        if m is None:
            break
        assert not isinstance(m, tuple), m
        got += entries(m)
    return got


def tail_path(query, **kw):
    kw["query"] = query
    return "/loki/api/v1/tail?" + urllib.parse.urlencode(kw)


def main():
    srv = Server(config_text="limits:\n  max_concurrent_queries: 1\n"
                             "  max_concurrent_tail_requests: 2\n",
                 extra_env={"ICEGATE_DEBUG_SCAN_DELAY_MS": "0"})
    port = srv.ports["loki"]
    try:
        srv.wait_ready("loki")
        old = time.time_ns() - 60 * 10**9
        push(srv, "ta", ["old one", "old two"], {"job": "app"}, ts0=old)
        push(srv, "ta", ["very old"], {"job": "app"}, ts0=time.time_ns() - 2 * 3600 * 10**9)

        def history_then_live():
            ws = WS(port, tail_path('{job="app"}'), {"X-Scope-OrgID": "ta"})
            assert ws.status == 101, (ws.status, ws.body)
            got = collect(ws, 2, timeout=5)
            assert [g[1] for g in got] == ["old one", "old two"], got
            assert got[0][2] == {"job": "app"}, got
            lines = [f"live {i}" for i in range(20)]
            push(srv, "tb", ["other tenant secret"], {"job": "app"})
            push(srv, "ta", lines[:10], {"job": "app"})
            time.sleep(0.3)
            push(srv, "ta", lines[10:], {"job": "app"})
            got = collect(ws, 20, timeout=10)
            assert [g[1] for g in got] == lines, got
            assert [g[0] for g in got] == sorted(g[0] for g in got)
            # nothing more (no duplicates, nothing from tb)
            m = ws.message(2.5)
            assert m is None, m
            ws.close()
        check("tail: history from start (default now-1h), then pushed lines live in order, "
              "once, never another tenant's", history_then_live)

        def filtered_limit():
            ws = WS(port, tail_path('{job="app"} |= "two"', limit=1), {"X-Scope-OrgID": "ta"})
            assert ws.status == 101
            got = collect(ws, 1, timeout=5)
            assert [g[1] for g in got] == ["old two"], got
            ws2 = WS(port, tail_path('{job="app"}', limit=1), {"X-Scope-OrgID": "ta"})
            got = collect(ws2, 1, timeout=5)
            assert [g[1] for g in got] == ["live 19"], got
            # a third tail of the tenant is over max_concurrent_tail_requests (2)
            ws3 = WS(port, tail_path('{job="app"}'), {"X-Scope-OrgID": "ta"})
            assert ws3.status == 400, ws3.head
            assert b"max concurrent tail requests limit exceeded, count > limit (3 > 2)" in \
                ws3.body, ws3.body
            # another tenant is not affected
            ws4 = WS(port, tail_path('{job="app"}'), {"X-Scope-OrgID": "tb"})
            assert ws4.status == 101
            got = collect(ws4, 1, timeout=5)
            assert [g[1] for g in got] == ["other tenant secret"], got
            for w in (ws, ws2, ws4):
                w.close()
            time.sleep(0.5)
            ws5 = WS(port, tail_path('{job="app"}'), {"X-Scope-OrgID": "ta"})
            assert ws5.status == 101, "slots are released when clients close"
            ws5.close()
        check("tail: line filter, limit, max_concurrent_tail_requests per tenant (Loki's text), "
              "slots released on close", filtered_limit)

        def refused():
            ws = WS(port, tail_path('count_over_time({job="app"}[1m])'), {"X-Scope-OrgID": "ta"})
            assert ws.status == 400 and b"only log selector is supported" in ws.body, ws.body
            ws = WS(port, tail_path('{job="app"'), {"X-Scope-OrgID": "ta"})
            assert ws.status == 400 and b"parse error" in ws.body, ws.body
            ws = WS(port, tail_path('{job="app"}', delay_for=6), {"X-Scope-OrgID": "ta"})
            assert ws.status == 400 and b"delay_for can't be greater than 5" in ws.body, ws.body
            ws = WS(port, tail_path('{job="app"}'))
            assert ws.status in (400, 401), ws.head
            ws = WS(port, tail_path('{job="app"}'), {"X-Scope-OrgID": "ta|tb"})
            assert ws.status == 400, ws.head
            st, _, b = http("GET", srv.url("loki", tail_path('{job="app"}')),
                            headers={"X-Scope-OrgID": "ta"})
            assert st == 400 and b"websocket" in b, (st, b)
        check("tail: metric query, parse error, delay_for > 5, no tenant, several tenants, "
              "no upgrade headers -> 400", refused)

        def shutdown_closes():
            ws = WS(port, tail_path('{job="app"}', limit=1), {"X-Scope-OrgID": "ta"})
            assert ws.status == 101
            collect(ws, 1, timeout=5)
            t0 = time.time()
            srv.stop()
            m = None
            end = time.time() + 5
            while time.time() < end:
                try:
                    m = ws.message(end - time.time())
                except (EOFError, OSError):
                    break
                if isinstance(m, tuple):
                    break
            assert isinstance(m, tuple) and m[1] == 1001, m
            assert time.time() - t0 < 5
        check("tail: server shutdown closes the socket with 1001", shutdown_closes)
    finally:
        srv.stop()
    done()


if __name__ == "__main__":
    main()

"""The icegate command line, configuration and the listeners of `icegate run` (DESIGN §1)."""
import os
import signal
import socket
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from tap import BIN, Server, check, done, http, loads, run_cli  # noqa: E402


def t_version():
    rc, out, _ = run_cli(["version"])
    assert rc == 0 and out.startswith("icegate "), out


def t_config_check_defaults_and_env():
    d = tempfile.mkdtemp()
    rc, out, err = run_cli(["config", "check"], env={"ICEGATE_DATA_DIR": d, "ICEGATE_LOKI_PORT": "3999"})
    assert rc == 0, err
    assert "port: 3999" in out, out
    assert f'path: "{d}/warehouse"' in out, out
    assert f'uri: "{d}/catalog.db"' in out, out
    assert "port: 4318" in out and "port: 8181" in out


def t_config_yaml_then_env():
    d = tempfile.mkdtemp()
    cfg = os.path.join(d, "c.yaml")
    with open(cfg, "w") as f:
        f.write("loki:\n  port: 3111\ntempo:\n  port: 3222\nwal:\n  flush_interval: 50ms\n")
    rc, out, err = run_cli(["config", "check", "--config", cfg], env={"ICEGATE_TEMPO_PORT": "3333"})
    assert rc == 0, err
    assert "port: 3111" in out and "port: 3333" in out and "port: 3222" not in out, out
    assert "flush_interval: 50ms" in out, out


def expect_one_line_error(args, env, must):
    rc, out, err = run_cli(args, env=env)
    assert rc != 0, (rc, out)
    lines = [l for l in err.splitlines() if l.strip()]
    assert len(lines) == 1, err
    for m in must:
        assert m in lines[0], (m, lines[0])


def t_bad_env_value():
    expect_one_line_error(["run"], {"ICEGATE_LOKI_PORT": "70000"},
                          ["ICEGATE_LOKI_PORT", "loki.port", '"70000"', "0..65535"])
    expect_one_line_error(["config", "check"], {"ICEGATE_AUTH_ENABLED": "maybe"},
                          ["auth.enabled", '"maybe"', "true or false"])
    expect_one_line_error(["config", "check"], {"ICEGATE_LOG_LEVEL": "loud"},
                          ["log_level", '"loud"', "debug|info|warn|error"])


def t_bad_yaml_values():
    d = tempfile.mkdtemp()
    cases = [
        ("wal:\n  flush_interval: soon\n", ["wal.flush_interval", '"soon"', "duration"]),
        ("otlp_http:\n  max_body_bytes: lots\n", ["otlp_http.max_body_bytes", '"lots"', "size"]),
        ("lokii:\n  port: 1\n", ["lokii", "unknown key"]),
        ("loki:\n  prot: 1\n", ["loki.prot", "unknown key"]),
        ("loki: [1, 2]\n", ["loki", "unknown key"]),
        ("loki:\n  port: [1]\n", ["loki.port", "list"]),
        ("loki:\n  port: 1\n bad", ["line"]),
    ]
    for text, must in cases:
        cfg = os.path.join(d, "c.yaml")
        with open(cfg, "w") as f:
            f.write(text)
        expect_one_line_error(["config", "check", "--config", cfg], {}, must)


def t_bad_role_and_command():
    expect_one_line_error(["run", "--role", "ingest,bogus"], {}, ['"ingest,bogus"', "ingest, query, maintain"])
    rc, _, err = run_cli(["frobnicate"])
    assert rc == 2 and "unknown command" in err
    rc, _, err = run_cli(["maintain", "vacuum"])
    assert rc == 2 and '"vacuum"' in err


def with_server(fn, **kw):
    s = Server(**kw)
    try:
        s.wait_ready()
        fn(s)
    finally:
        rc = s.stop()
    return s, rc


def t_all_listeners_ready():
    def body(s):
        for name in s.ports:
            st, _, b = http("GET", s.url(name, "/ready"))
            assert st == 200, (name, st)
        st, _, b = http("GET", s.url("prometheus", "/-/ready"))
        assert st == 200 and b"Ready" in b
        for name in ["otlp_http", "loki", "maintain"]:
            st, _, b = http("GET", s.url(name, "/health"))
            assert st == 200 and loads(b)["status"] == "healthy"
    with_server(body)


def t_not_built_apis_answer_501():
    def body(s):
        cases = [("tempo", "GET", "/api/search", "Tempo"),
                 ("prometheus", "GET", "/api/v1/query?query=up", "Prometheus")]
        # (built since: the Loki API, POST /maintain/run and the REST catalog — loki_query_test.py,
        # shift_test.py, rest_catalog_test.py)
        for listener, method, path, api in cases:
            st, h, b = http(method, s.url(listener, path), body=b"" if method == "POST" else None)
            assert st == 501, (path, st, b)
            j = loads(b)
            assert j["status"] == "error" and api in j["error"], j
            assert h["content-type"].startswith("application/json")
        st, _, _ = http("GET", s.url("loki", "/nope"))
        assert st == 404
    with_server(body)


def t_status_and_metrics():
    def body(s):
        st, _, b = http("GET", s.url("maintain", "/status"))
        j = loads(b)
        assert st == 200 and set(j["jobs"]) == {"shift", "compact", "retention", "expire-snapshots", "remove-orphans"}
        http("GET", s.url("tempo", "/api/search"))
        st, h, b = http("GET", s.url("tempo", "/metrics"))
        text = b.decode()
        assert st == 200 and h["content-type"].startswith("text/plain")
        assert '# TYPE icegate_http_requests_total counter' in text
        assert 'icegate_http_requests_total{listener="tempo",route="/api/*",code="501"} 1' in text, text
        assert 'icegate_http_request_duration_seconds_bucket{listener="tempo",route="/api/*",le="+Inf"} 1' in text
    with_server(body)


def t_body_cap_413():
    def body(s):
        big = b"x" * 5000
        st, _, b = http("POST", s.url("loki", "/loki/api/v1/push"), body=big,
                        headers={"Content-Type": "application/json"})
        assert st == 413 and b"4096" in b, (st, b)
        # chunked upload without Content-Length is capped too
        sock = socket.create_connection(("127.0.0.1", s.ports["loki"]))
        req = (b"POST /loki/api/v1/push HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
               b"".join(b"400\r\n" + b"y" * 1024 + b"\r\n" for _ in range(8)) + b"0\r\n\r\n")
        sock.sendall(req)
        resp = sock.recv(4096)
        sock.close()
        assert resp.startswith(b"HTTP/1.1 413"), resp[:100]
    with_server(body, config_text="loki:\n  max_body_bytes: 4096\n")


def t_port_zero_disables_and_roles():
    def body(s):
        st, _, _ = http("GET", s.url("loki", "/ready"))
        assert st == 200
        for name in ["tempo", "otlp_http", "maintain"]:
            try:
                st, _, _ = http("GET", s.url(name, "/ready"), timeout=2)
                raise AssertionError(f"{name} should be closed, got {st}")
            except OSError:
                pass
    with_server(body, args=["--role", "query"], extra_env={"ICEGATE_TEMPO_PORT": "0"})


def t_keepalive_and_sigterm_graceful():
    s = Server()
    try:
        s.wait_ready()
        sock = socket.create_connection(("127.0.0.1", s.ports["loki"]))
        for _ in range(3):
            sock.sendall(b"GET /ready HTTP/1.1\r\nHost: x\r\n\r\n")
            data = b""
            while b"ready\n" not in data:
                chunk = sock.recv(4096)
                assert chunk, "connection closed by server"
                data += chunk
            assert data.startswith(b"HTTP/1.1 200")
        sock.close()
    finally:
        t0 = time.time()
        rc = s.stop(signal.SIGTERM)
    assert rc == 0, (rc, s.logtext())
    assert time.time() - t0 < 20
    log = s.logtext()
    assert '"msg":"shutting down"' in log and '"msg":"stopped"' in log, log
    for line in log.splitlines():
        loads(line)  # every log line is JSON


def t_duplicate_ports_rejected():
    expect_one_line_error(["config", "check"], {"ICEGATE_LOKI_PORT": "4318"},
                          ["otlp_http.port", "loki.port", '"4318"', "own port"])


def t_second_instance_cannot_share_ports():
    a = Server()
    try:
        a.wait_ready("otlp_http")
        b = Server(like=a)
        try:
            rc = b.proc.wait(timeout=20)
        finally:
            b.stop()
        assert rc != 0, "a second server bound the same ports"
        st, _, _ = http("GET", a.url("otlp_http", "/ready"))
        assert st == 200
    finally:
        a.stop()


def t_inflight_body_budget():
    import json as _json
    recs = [{"body": {"stringValue": "x" * 1000}} for _ in range(700)]
    body = _json.dumps({"resourceLogs": [{"scopeLogs": [{"logRecords": recs}]}]}).encode()
    assert 600_000 < len(body) < 1_000_000
    cfg = "http_max_inflight_bytes: 1MiB\nwal:\n  flush_interval: 3s\n  flush_rows: 1000000\n"
    res = {}

    def first(s):
        res["a"] = http("POST", s.url("otlp_http", "/v1/logs"), body=body, timeout=20,
                        headers={"Content-Type": "application/json", "X-Scope-OrgID": "a"})

    def body_fn(s):
        th = threading.Thread(target=first, args=(s,))
        th.start()
        time.sleep(0.7)  # A's body is received and held while it waits for its 3 s flush
        st, h, b = http("POST", s.url("otlp_http", "/v1/logs"), body=body,
                        headers={"Content-Type": "application/json", "X-Scope-OrgID": "b"})
        th.join()
        assert st == 503 and h.get("retry-after") == "1" and b"in flight" in b, (st, b)
        assert res["a"][0] == 200, res["a"]
        st, _, _ = http("POST", s.url("otlp_http", "/v1/logs"), body=body,
                        headers={"Content-Type": "application/json", "X-Scope-OrgID": "b"})
        assert st == 200, st  # budget released once A was answered
    with_server(body_fn, config_text=cfg)


def t_percent_00_never_cuts_paths_or_args():
    # A decoded NUL would cut the C strings routes and arguments are matched on.
    def body(s):
        st, _, _ = http("GET", s.url("loki", "/ready%00x"))
        assert st == 404, st
        st, _, b = http("POST", s.url("maintain", "/maintain/run?job=shift%00x"), body=b"")
        assert st == 400 and b"shift%00x" in b, (st, b)
        st, _, _ = http("GET", s.url("loki", "/re%61dy"))  # other escapes still decode
        assert st == 200, st
    with_server(body)


def t_port_in_use():
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen(1)
    port = blocker.getsockname()[1]
    s = Server(extra_env={"ICEGATE_LOKI_PORT": str(port)})
    try:
        rc = s.proc.wait(timeout=20)
    finally:
        s.stop()
        blocker.close()
    assert rc != 0 and f":{port}" in s.logtext(), s.logtext()


for name, fn in list(globals().items()):
    if name.startswith("t_") and callable(fn):
        check(name[2:], fn)
done()

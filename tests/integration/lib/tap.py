"""Tiny TAP helpers and an IceGate process fixture for integration tests (stdlib only)."""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
BIN = os.environ.get("ICEGATE_BIN", os.path.join(REPO, "build", "icegate"))
SHARED = os.environ.get("SHARED_DIR", os.path.join(REPO, "..", "shared"))

_n = 0
_failed = 0


def check(name, fn):
    """Runs fn(); prints a TAP line. An exception or AssertionError is a failure."""
    global _n, _failed
    _n += 1
    try:
        fn()
        print(f"ok {_n} - {name}", flush=True)
    except Exception as e:  # noqa: BLE001 - report every failure as TAP
        _failed += 1
        print(f"not ok {_n} - {name}", flush=True)
        for line in traceback.format_exc().splitlines():
            print("# " + line)
        del e


def done():
    print(f"1..{_n}")
    sys.exit(1 if _failed else 0)


def free_ports(n):
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def http(method, url, body=None, headers=None, timeout=10):
    """Returns (status, headers dict lower-cased, body bytes); never raises on HTTP errors."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


class Server:
    """Starts `icegate run` on free loopback ports in its own data dir."""

    NAMES = ["OTLP_HTTP", "OTLP_GRPC", "LOKI", "TEMPO", "PROMETHEUS", "MAINTAIN", "CATALOG"]

    def __init__(self, extra_env=None, args=None, config_text=None, like=None):
        """like: a stopped Server whose data dir and ports this one reuses (a restart)."""
        self.dir = like.dir if like else tempfile.mkdtemp(prefix="icegate-it-")
        if like:
            self.ports = dict(like.ports)
        else:
            self.ports = dict(zip([n.lower() for n in self.NAMES], free_ports(len(self.NAMES))))
        env = dict(os.environ)
        env.update({f"ICEGATE_{n}_PORT": str(self.ports[n.lower()]) for n in self.NAMES})
        env["ICEGATE_DATA_DIR"] = os.path.join(self.dir, "data")
        env["ICEGATE_LISTEN_HOST"] = "127.0.0.1"
        env.update(extra_env or {})
        cmd = [BIN, "run"] + (args or [])
        if config_text is not None:
            cfg = os.path.join(self.dir, "config.yaml")
            with open(cfg, "w") as f:
                f.write(config_text)
            cmd += ["--config", cfg]
        self.log = open(os.path.join(self.dir, "server.log"), "a+")
        self.proc = subprocess.Popen(cmd, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        self.env = env

    def url(self, listener, path):
        return f"http://127.0.0.1:{self.ports[listener]}{path}"

    def wait_ready(self, listener="loki", timeout=20):
        end = time.time() + timeout
        while time.time() < end:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited: " + self.logtext())
            try:
                st, _, _ = http("GET", self.url(listener, "/ready"), timeout=1)
                if st == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("server not ready: " + self.logtext())

    def logtext(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def run_cli(args, env=None, timeout=30):
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.run([BIN] + args, env=e, capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def loads(b):
    return json.loads(b.decode() if isinstance(b, bytes) else b)


TOOLS = os.environ.get("ICEGATE_TOOLS", os.path.join(REPO, "build", "tools"))


def wal_rows(data_dir, table):
    """Every row of every complete WAL segment of a table, read back with pqtool."""
    root = os.path.join(data_dir, "warehouse", "wal", table)
    rows = []
    for dirpath, _, files in os.walk(root):
        for f in sorted(files):
            if not f.endswith(".parquet"):
                continue
            out = subprocess.run([os.path.join(TOOLS, "pqtool"), "cat", os.path.join(dirpath, f)],
                                 capture_output=True, text=True, check=True).stdout
            rows += [json.loads(l) for l in out.splitlines() if l.strip()]
    return rows

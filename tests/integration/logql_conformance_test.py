#!/usr/bin/env python3
"""LogQL conformance: runs Grafana Loki's *.logqltest scripts end to end through the HTTP API.

The scripts are read from $LOGQL_CONFORMANCE_DIR, else $SHARED_DIR/conformance/logql (default
../shared relative to the repository root), and are never copied into the project. Format:
../shared/conformance/logql/README.md. For each scenario (the blocks between `clear`s) the
`load` entries are pushed through POST /loki/api/v1/push (JSON) into a fresh tenant, then every
`eval` runs through GET /loki/api/v1/query or /query_range and is compared exactly: labels
exactly, values to a relative 1e-9 (NaN equals NaN), `_` = no point at that step,
`expect empty`, `expect fail msg: X` (a 4xx whose body contains X), `expect ordered`.

Each file runs twice, with two epochs that are multiples of every step the file uses: a recent
one, and one on a UTC midnight (windows reaching before t=0 cross the day boundary). One TAP
line per file and epoch; failing evals are listed as comments (all of them with
LOGQL_CONFORMANCE_VERBOSE=1, else the first 15). LOGQL_CONFORMANCE_FILES=a,b limits the files
(name without .logqltest). A final line gives the pass/fail counts per file.

LOGQL_CONFORMANCE_DIRECT=1 skips the server and evaluates through the `logqleval` tool
($ICEGATE_TOOLS): the same parser, pipeline and metric engine over an in-memory source, for
working on the engine in isolation. The suite itself always runs through HTTP.
"""
import ast
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "lib"))
from tap import SHARED, TOOLS, Server, check, done, http  # noqa: E402

CONF_DIR = os.environ.get("LOGQL_CONFORMANCE_DIR", os.path.join(SHARED, "conformance", "logql"))
VERBOSE = os.environ.get("LOGQL_CONFORMANCE_VERBOSE") == "1"
DIRECT = os.environ.get("LOGQL_CONFORMANCE_DIRECT") == "1"
ONLY = [f for f in os.environ.get("LOGQL_CONFORMANCE_FILES", "").split(",") if f]

# ---- script parsing -----------------------------------------------------------------------------

_DUR = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d|w|y)")
_UNIT_NS = {"ns": 1, "us": 10**3, "µs": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9,
            "h": 3600 * 10**9, "d": 86400 * 10**9, "w": 7 * 86400 * 10**9, "y": 365 * 86400 * 10**9}


def dur_ns(s):
    """Go/Prometheus duration ('1m30s', '-20s', '500ms', '0') in nanoseconds."""
    s = s.strip()
    neg = s.startswith("-")
    if neg or s.startswith("+"):
        s = s[1:]
    if s == "0":
        return 0
    pos, total = 0, 0
    for m in _DUR.finditer(s):
        if m.start() != pos:
            raise ValueError(f"bad duration {s!r}")
        total += round(float(m.group(1)) * _UNIT_NS[m.group(2)])
        pos = m.end()
    if pos != len(s) or pos == 0:
        raise ValueError(f"bad duration {s!r}")
    return -total if neg else total


def strip_comment(line):
    """Drops a `#` comment that is outside double quotes and backticks."""
    q = None
    i = 0
    while i < len(line):
        c = line[i]
        if q:
            if c == "\\" and q == '"':
                i += 2
                continue
            if c == q:
                q = None
        elif c in '"`':
            q = c
        elif c == "#":
            return line[:i].rstrip()
        i += 1
    return line.rstrip()


def read_string(s, i):
    """Reads a Go "quoted" or `raw` string at s[i]; returns (value, next index)."""
    q = s[i]
    j = i + 1
    while j < len(s):
        if q == '"' and s[j] == "\\":
            j += 2
            continue
        if s[j] == q:
            break
        j += 1
    if j >= len(s):
        raise ValueError(f"unterminated string in {s!r}")
    raw = s[i:j + 1]
    return (raw[1:-1] if q == "`" else ast.literal_eval(raw)), j + 1


def read_labels(s, i=0):
    """Parses {a="1", b="2"} at s[i]; returns (dict, next index)."""
    if s[i] != "{":
        raise ValueError(f"expected {{ in {s!r}")
    i += 1
    out = {}
    while True:
        while i < len(s) and s[i] in " ,":
            i += 1
        if s[i] == "}":
            return out, i + 1
        m = re.compile(r"[A-Za-z_][A-Za-z0-9_]*").match(s, i)
        if not m:
            raise ValueError(f"bad label name in {s!r}")
        name = m.group(0)
        i = m.end()
        while s[i] == " ":
            i += 1
        if s[i] != "=":
            raise ValueError(f"expected = in {s!r}")
        i += 1
        while s[i] == " ":
            i += 1
        val, i = read_string(s, i)
        out[name] = val


def parse_load_line(s, lineno):
    labels, i = read_labels(s)
    rest = s[i:].lstrip()
    line, i = read_string(rest, 0)
    rest = rest[i:].strip()
    m = re.match(r"@\s*(\S+)\s*", rest)
    if not m:
        raise ValueError(f"line {lineno}: expected @ <offset>")
    at = dur_ns(m.group(1))
    rest = rest[m.end():]
    every, count, meta = 0, 1, {}
    m = re.match(r"\[\s*repeat every\s+(\S+)\s+for\s+(\d+)\s*\]\s*", rest)
    if m:
        every, count = dur_ns(m.group(1)), int(m.group(2))
        rest = rest[m.end():]
    m = re.match(r"\[\s*metadata\s+(.*)\]\s*$", rest) or re.match(r"metadata\s+(.*)$", rest)
    if m:
        meta, _ = read_labels("{" + m.group(1).strip().replace('" ', '", ') + "}")
        rest = ""
    if rest.strip():
        raise ValueError(f"line {lineno}: cannot parse {rest!r}")
    out = []
    for k in range(count):
        out.append((labels, line.replace("{{.i}}", str(k)), at + k * every, meta))
    return out


_EXPAND = re.compile(r"^([-+]?(?:[0-9.]+(?:[eE][-+]?[0-9]+)?|Inf|NaN))([-+])([0-9.]+(?:[eE][-+]?[0-9]+)?)x(\d+)$")


def parse_value(tok):
    if tok in ("Inf", "+Inf"):
        return math.inf
    if tok == "-Inf":
        return -math.inf
    if tok == "NaN":
        return math.nan
    return float(tok)


def parse_values(toks):
    out = []
    for t in toks:
        if t == "_":
            out.append(None)
            continue
        m = re.match(r"^_x(\d+)$", t)
        if m:
            out += [None] * int(m.group(1))
            continue
        m = _EXPAND.match(t)
        if m:
            a, sign, b, n = parse_value(m.group(1)), m.group(2), float(m.group(3)), int(m.group(4))
            d = b if sign == "+" else -b
            out += [a + d * k for k in range(n + 1)]
            continue
        out.append(parse_value(t))
    return out


def parse_file(path):
    """Returns a list of scenarios {loads: [...], evals: [...]}."""
    scen = {"loads": [], "evals": []}
    scenarios = [scen]
    mode = None
    ev = None
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    for n, raw in enumerate(lines, 1):
        line = strip_comment(raw)
        if not line.strip():
            continue
        indented = line[0] in " \t"
        body = line.strip()
        if not indented:
            ev = None
            if body == "clear":
                scen = {"loads": [], "evals": []}
                scenarios.append(scen)
                mode = None
            elif body == "load":
                mode = "load"
            elif body.startswith("eval "):
                mode = "eval"
                m = re.match(r"eval\s+instant\s+at\s+(\S+)\s+(.*)$", body)
                if m:
                    ev = {"line": n, "instant": True, "t": dur_ns(m.group(1)), "query": m.group(2)}
                else:
                    m = re.match(r"eval\s+range\s+from\s+(\S+)\s+to\s+(\S+)\s+step\s+(\S+)\s+(.*)$", body)
                    if not m:
                        raise ValueError(f"{path}:{n}: cannot parse {body!r}")
                    ev = {"line": n, "instant": False, "start": dur_ns(m.group(1)),
                          "end": dur_ns(m.group(2)), "step": dur_ns(m.group(3)), "query": m.group(4)}
                ev.update({"series": [], "empty": False, "fail": None, "ordered": False})
                scen["evals"].append(ev)
            else:
                raise ValueError(f"{path}:{n}: unknown command {body!r}")
            continue
        if mode == "load":
            scen["loads"] += parse_load_line(body, n)
        elif mode == "eval" and ev is not None:
            if body == "expect empty":
                ev["empty"] = True
            elif body == "expect ordered":
                ev["ordered"] = True
            elif body.startswith("expect fail"):
                m = re.match(r"expect fail(?:\s+(msg|regex):\s*(.*))?$", body)
                ev["fail"] = (m.group(1) or "any", (m.group(2) or "").strip())
            elif body.startswith("skip "):
                pass  # only about Loki's sharded stack; this engine is exact everywhere
            elif body.startswith("{"):
                labels, i = read_labels(body)
                ev["series"].append((labels, parse_values(body[i:].split())))
            elif re.match(r"^[-+0-9.NI_]", body):
                ev["series"].append(({}, parse_values(body.split())))  # a scalar
                ev["scalar"] = True
            else:
                raise ValueError(f"{path}:{n}: cannot parse expectation {body!r}")
        else:
            raise ValueError(f"{path}:{n}: indented line outside load/eval")
    return [s for s in scenarios if s["loads"] or s["evals"]]


# ---- epochs ---------------------------------------------------------------------------------------

def file_steps(scenarios):
    steps = {10**9}
    for s in scenarios:
        for e in s["evals"]:
            if not e["instant"]:
                steps.add(e["step"])
    return steps


def lcm_all(vals):
    out = 1
    for v in vals:
        out = out * v // math.gcd(out, v)
    return out


def epochs(scenarios):
    """A recent epoch and one on a UTC midnight, both multiples of every step (in ns)."""
    unit = lcm_all(file_steps(scenarios))
    now = time.time_ns()
    recent = (now - 3 * 3600 * 10**9) // unit * unit
    day = 86400 * 10**9
    both = lcm_all([unit, day])
    midnight = (now - day) // both * both
    return [("recent", recent), ("midnight", midnight)]


# ---- evaluation -------------------------------------------------------------------------------------

def push(srv, tenant, loads, epoch):
    streams = {}
    for labels, line, at, meta in loads:
        key = json.dumps(labels, sort_keys=True)
        st = streams.setdefault(key, {"stream": labels, "values": []})
        v = [str(epoch + at), line]
        if meta:
            v.append(meta)
        st["values"].append(v)
    body = json.dumps({"streams": list(streams.values())}).encode()
    st, _, b = http("POST", srv.url("otlp_http", "/loki/api/v1/push"), body=body,
                    headers={"Content-Type": "application/json", "X-Scope-OrgID": tenant})
    if st != 204:
        raise AssertionError(f"push: {st} {b[:300]!r}")


def run_query(srv, tenant, ev, epoch):
    if ev["instant"]:
        params = {"query": ev["query"], "time": str(epoch + ev["t"])}
        path = "/loki/api/v1/query"
    else:
        params = {"query": ev["query"], "start": str(epoch + ev["start"]),
                  "end": str(epoch + ev["end"]), "step": f"{ev['step'] / 1e9:g}"}
        path = "/loki/api/v1/query_range"
    url = srv.url("loki", path + "?" + urllib.parse.urlencode(params))
    return http("GET", url, headers={"X-Scope-OrgID": tenant}, timeout=30)


def close(a, b):
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return a == b or abs(a - b) <= 1e-9 * max(abs(a), abs(b))


def fmt_labels(d):
    return "{" + ", ".join(f'{k}={json.dumps(v)}' for k, v in sorted(d.items())) + "}"


def parse_num(s):
    return {"NaN": math.nan, "+Inf": math.inf, "-Inf": -math.inf, "Inf": math.inf}.get(s) \
        if s in ("NaN", "+Inf", "-Inf", "Inf") else float(s)


def check_eval(ev, status, body, epoch):
    """Returns None when the response matches, else a description of the difference."""
    text = body.decode("utf-8", "replace")
    if ev["fail"]:
        kind, msg = ev["fail"]
        if not (400 <= status < 500):
            return f"expected a 4xx failure ({kind}: {msg}), got {status}: {text[:200]}"
        if kind == "msg" and msg not in text:
            return f"error body lacks {msg!r}: {text[:300]}"
        if kind == "regex" and not re.search(msg, text):
            return f"error body does not match /{msg}/: {text[:300]}"
        return None
    if status != 200:
        return f"status {status}: {text[:300]}"
    try:
        data = json.loads(text)["data"]
    except (ValueError, KeyError) as e:
        return f"bad JSON ({e}): {text[:200]}"
    rtype, result = data.get("resultType"), data.get("result")
    # actual: list of (labels, {step index: value})
    actual = []
    if ev.get("scalar") and ev["instant"] and rtype != "scalar":
        return f"expected a scalar, got resultType {rtype!r}"
    if rtype == "scalar":
        actual.append(({}, {0: parse_num(result[1])}))
    elif rtype == "vector":
        if not ev["instant"]:
            return f"vector result for a range query"
        for s in result:
            actual.append((s.get("metric", {}), {0: parse_num(s["value"][1])}))
    elif rtype == "matrix":
        if ev["instant"]:
            return "matrix result for an instant query"
        t0, step = epoch + ev["start"], ev["step"]
        for s in result:
            pts = {}
            for ts, v in s["values"]:
                ns = round(float(ts) * 1e3) * 10**6
                if (ns - t0) % step:
                    return f"point at {ts} is not on a step of {fmt_labels(s.get('metric', {}))}"
                pts[(ns - t0) // step] = parse_num(v)
            actual.append((s.get("metric", {}), pts))
    else:
        return f"unexpected resultType {rtype!r}"
    if ev["empty"]:
        return None if not actual else f"expected empty, got {len(actual)} series: " + \
            ", ".join(fmt_labels(l) for l, _ in actual[:5])
    expected = []
    for labels, vals in ev["series"]:
        pts = {i: v for i, v in enumerate(vals) if v is not None}
        if pts:
            expected.append((labels, pts))
    if ev["instant"]:
        nsteps = 1
    else:
        nsteps = (ev["end"] - ev["start"]) // ev["step"] + 1
    for labels, vals in ev["series"]:
        if len(vals) != nsteps:
            return f"script: {fmt_labels(labels)} has {len(vals)} values for {nsteps} steps"
    problems = []
    amap = {}
    for labels, pts in actual:
        k = fmt_labels(labels)
        if k in amap:
            problems.append(f"duplicate series {k}")
        amap[k] = pts
    emap = {fmt_labels(l): p for l, p in expected}
    for k in emap:
        if k not in amap:
            problems.append(f"missing {k} {emap[k]}")
    for k in amap:
        if k not in emap:
            problems.append(f"unexpected {k} {amap[k]}")
    for k, pts in emap.items():
        got = amap.get(k)
        if got is None:
            continue
        if set(got) != set(pts) or any(not close(got[i], pts[i]) for i in pts):
            problems.append(f"{k}: want {pts}, got {got}")
    if not problems and ev["ordered"]:
        order = [fmt_labels(l) for l, _ in actual]
        want = [fmt_labels(l) for l, _ in expected]
        if order != want:
            problems.append(f"order {order}, want {want}")
    return "; ".join(problems) if problems else None


COUNTS = {}


def direct_results(sc, epoch):
    """(status, body) per eval of a scenario through tools/logqleval."""
    doc = {"entries": [{"ts": str(epoch + at), "line": line, "stream": labels, "meta": meta}
                       for labels, line, at, meta in sc["loads"]],
           "queries": []}
    for ev in sc["evals"]:
        if ev["instant"]:
            doc["queries"].append({"q": ev["query"], "start": str(epoch + ev["t"]),
                                   "end": str(epoch + ev["t"]), "step": "0"})
        else:
            doc["queries"].append({"q": ev["query"], "start": str(epoch + ev["start"]),
                                   "end": str(epoch + ev["end"]), "step": str(ev["step"])})
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(doc, f)
        path = f.name
    try:
        out = subprocess.run([os.path.join(TOOLS, "logqleval"), path], capture_output=True,
                             text=True, timeout=120)
    finally:
        os.unlink(path)
    if out.returncode != 0:
        raise AssertionError(f"logqleval: {out.stderr[:300]}")
    res = []
    for line in out.stdout.splitlines():
        d = json.loads(line)
        res.append((d["status"], (json.dumps(d) if d["status"] == 200 else d["error"]).encode()))
    return res


def run_file(srv, name, path, variant):
    scenarios = parse_file(path)
    ep = dict(epochs(scenarios))[variant]
    passed, failed, notes = 0, 0, []
    for si, sc in enumerate(scenarios):
        tenant = f"conf-{name.replace('_', '-')}-{variant}-{si}-{os.getpid()}"
        if DIRECT:
            try:
                res = direct_results(sc, ep)
            except Exception as e:  # noqa: BLE001
                failed += len(sc["evals"])
                notes.append(f"scenario {si}: {e}")
                continue
            for ev, (st, b) in zip(sc["evals"], res):
                diff = check_eval(ev, st, b, ep)
                if diff is None:
                    passed += 1
                else:
                    failed += 1
                    notes.append(f"{name}:{ev['line']} {ev['query']}\n#     {diff[:600]}")
            continue
        if sc["loads"]:
            try:
                push(srv, tenant, sc["loads"], ep)
            except Exception as e:  # noqa: BLE001 - report and count the scenario's evals
                failed += len(sc["evals"])
                notes.append(f"scenario {si}: {e}")
                continue
        for ev in sc["evals"]:
            try:
                st, _, b = run_query(srv, tenant, ev, ep)
                diff = check_eval(ev, st, b, ep)
            except Exception as e:  # noqa: BLE001
                diff = f"exception {e!r}"
            if diff is None:
                passed += 1
            else:
                failed += 1
                notes.append(f"{name}:{ev['line']} {ev['query']}\n#     {diff[:600]}")
    COUNTS[(name, variant)] = (passed, failed)
    print(f"# {name} [{variant}, epoch {ep / 1e9:.0f}]: {passed} passed, {failed} failed", flush=True)
    for n in notes[: None if VERBOSE else 15]:
        print("#   " + n)
    if len(notes) > 15 and not VERBOSE:
        print(f"#   ... {len(notes) - 15} more (LOGQL_CONFORMANCE_VERBOSE=1 shows all)")
    if failed:
        raise AssertionError(f"{name} [{variant}]: {failed} of {passed + failed} evals failed")


def main():
    files = sorted(f for f in os.listdir(CONF_DIR) if f.endswith(".logqltest"))
    if ONLY:
        files = [f for f in files if f[:-len(".logqltest")] in ONLY]
    if not files:
        print(f"Bail out! no .logqltest files in {CONF_DIR}")
        sys.exit(1)
    srv = None if DIRECT else Server()
    try:
        if srv:
            srv.wait_ready("loki")
            srv.wait_ready("otlp_http")
        for variant in ("recent", "midnight"):
            for f in files:
                name = f[:-len(".logqltest")]
                check(f"logql conformance {name} [{variant}]",
                      lambda name=name, f=f, v=variant: run_file(srv, name, os.path.join(CONF_DIR, f), v))
    finally:
        if srv:
            srv.stop()
    tp = sum(p for p, _ in COUNTS.values())
    tf = sum(f for _, f in COUNTS.values())
    print("# totals per file: " + ", ".join(f"{n}[{v}] {p}/{p + f}" for (n, v), (p, f) in COUNTS.items()))
    print(f"# {tp} passed, {tf} failed")
    done()


if __name__ == "__main__":
    main()

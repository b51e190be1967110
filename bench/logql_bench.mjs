#!/usr/bin/env node
// LogQL benchmark (a program, not a test): four LogQL questions answered by IceGate over
// Iceberg data files, and the same questions as SQL to DuckDB and chdb over the same Parquet
// data files. See bench/README.md.
//
//   node bench/logql_bench.mjs [--lines 2000000] [--reps 5] [--port-base 19100] [--keep]
//
// Needs `make` (build/icegate; ICEGATE_BIN overrides), scripts/setup.sh (DuckDB in
// tests/node) and, for chdb, `npm install` in bench/node. Builds nothing. Steps:
//   1. generates --lines log lines from ../shared/corpus/logs (cycled): 40% in service
//      `app` (every corpus file mixed), 30% in the corpus file's own service, 15% JSON lines
//      in `checkout` and 15% logfmt lines in `gateway` (both built from corpus content: the
//      corpus line is the `msg`); a `host` resource attribute (12 hosts, skewed) and a
//      record attribute `level` (from the line's words). Timestamps strictly increasing over
//      6 hours; one tenant. Sent over OTLP/HTTP JSON (4000 records per request, 2 clients).
//   2. POST /maintain/run?job=shift moves every row into Iceberg; the data files are listed
//      from the data dir (one shift, no compaction: every file there is live).
//   3. each question once to every engine; the answers must agree (exit 1 otherwise);
//      then --reps timed runs each: median latency, and CPU time (ours: utime+stime of the
//      server from /proc/PID/stat over all reps; DuckDB and chdb are in-process:
//      process.cpuUsage()) giving raw-log GB/s per core = body bytes of the rows the
//      question selects (its service, or all rows) × reps / CPU seconds.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { BIN, SHARED, loadDep } from '../tests/interop/lib/env.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const N = Number(opt('lines', 2_000_000));
const REPS = Number(opt('reps', 5));
const PORT = Number(opt('port-base', 19100));
const KEEP = args.includes('--keep');
const TENANT = 'bench';
const T0 = 1_699_999_200; // s, on an hour boundary
const SPAN = 6 * 3600; // s
const T0_US = BigInt(T0) * 1_000_000n;
const log = (s) => console.log(s);

// ---------------------------------------------------------------- 1. data
const corpusDir = path.join(SHARED, 'corpus', 'logs');
const corpus = [];
for (const f of fs.readdirSync(corpusDir).filter((x) => x.endsWith('.log')).sort()) {
  for (let l of fs.readFileSync(path.join(corpusDir, f), 'utf8').split('\n')) {
    if (l.endsWith('\r')) l = l.slice(0, -1);
    if (l) corpus.push({ svc: f.slice(0, -4), line: l });
  }
}
let seed = 0x1ce6a7e;
const rnd = () => { // mulberry32
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const HOSTS = Array.from({ length: 12 }, (_, i) => `host-${String(i + 1).padStart(2, '0')}`);
const HOST_W = HOSTS.map((_, i) => 12 - i + (i % 3) * 0.37); // skewed, no equal weights
const HOST_SUM = HOST_W.reduce((a, b) => a + b);
const pickHost = () => {
  let r = rnd() * HOST_SUM;
  for (let i = 0; i < HOSTS.length; i++) if ((r -= HOST_W[i]) < 0) return HOSTS[i];
  return HOSTS.at(-1);
};
const levelOf = (l) => (/\b(error|ERROR|Error|FATAL|fatal|failed)\b/.test(l) ? 'error'
  : /\b(warn|WARN|WARNING|Warning)\b/.test(l) ? 'warn' : /\b(debug|DEBUG)\b/.test(l) ? 'debug' : 'info');
const METHODS = ['GET', 'GET', 'GET', 'POST', 'PUT', 'DELETE'];
const statusOf = () => {
  const r = rnd();
  return r < 0.03 ? 500 + Math.floor(rnd() * 4) : r < 0.08 ? 400 + Math.floor(rnd() * 5) : 200;
};

const bytesBy = new Map(); // service -> body bytes
let allBytes = 0;
let ci = 0;
function* records() {
  for (let i = 0; i < N; i++) {
    const tsUs = T0_US + 1000n + (BigInt(i) * BigInt(SPAN) * 1_000_000n) / BigInt(N);
    const c = corpus[ci++ % corpus.length];
    const r = rnd();
    let svc, body;
    const level = levelOf(c.line);
    if (r < 0.4) {
      svc = 'app';
      body = c.line;
    } else if (r < 0.7) {
      svc = c.svc;
      body = c.line;
    } else if (r < 0.85) {
      svc = 'checkout';
      body = JSON.stringify({ level, method: METHODS[i % METHODS.length], status: statusOf(),
        duration_ms: Math.floor(rnd() * 900), msg: c.line });
    } else {
      svc = 'gateway';
      const msg = c.line.replace(/[\\"]/g, "'");
      body = `level=${level} method=${METHODS[i % METHODS.length]} status=${statusOf()} duration=${Math.floor(rnd() * 900)}ms msg="${msg}"`;
    }
    const b = Buffer.byteLength(body);
    bytesBy.set(svc, (bytesBy.get(svc) || 0) + b);
    allBytes += b;
    yield { svc, host: pickHost(), tsUs, body, level };
  }
}

function request(recs) {
  const groups = new Map();
  for (const r of recs) {
    const k = `${r.svc}\u0000${r.host}`;
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k).push(r);
  }
  const s = (v) => ({ stringValue: v });
  return JSON.stringify({
    resourceLogs: [...groups.values()].map((g) => ({
      resource: { attributes: [{ key: 'service.name', value: s(g[0].svc) }, { key: 'host', value: s(g[0].host) }] },
      scopeLogs: [{ logRecords: g.map((r) => ({
        timeUnixNano: String(r.tsUs * 1000n), body: s(r.body), attributes: [{ key: 'level', value: s(r.level) }],
      })) }],
    })),
  });
}

// ---------------------------------------------------------------- server
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'icegate-logqlbench-'));
const ports = { otlp_http: PORT, otlp_grpc: PORT + 1, loki: PORT + 2, tempo: PORT + 3, prometheus: PORT + 4,
  maintain: PORT + 5, catalog: PORT + 6 };
const cfg = path.join(dir, 'config.yaml');
fs.writeFileSync(cfg, [
  'maintain:', '  shift_interval: 0s', '  wal_grace_period: 0s',
  'limits:', '  ingestion_rate_mb: 100000', '  ingestion_burst_size_mb: 100000', '  max_query_length: 30d', '',
].join('\n'));
const env = { ...process.env, ICEGATE_DATA_DIR: path.join(dir, 'data'), ICEGATE_LISTEN_HOST: '127.0.0.1' };
for (const [k, v] of Object.entries(ports)) env[`ICEGATE_${k.toUpperCase()}_PORT`] = String(v);
const srvLog = fs.openSync(path.join(dir, 'server.log'), 'a');
const srv = spawn(BIN, ['run', '--config', cfg], { env, stdio: ['ignore', srvLog, srvLog] });
const cleanup = () => {
  if (srv.exitCode === null) try { srv.kill('SIGTERM'); } catch { /* gone */ }
  if (!KEEP) fs.rmSync(dir, { recursive: true, force: true });
};
process.on('exit', cleanup);
const url = (l, p) => `http://127.0.0.1:${ports[l]}${p}`;
for (let i = 0; ; i++) {
  try {
    if ((await fetch(url('loki', '/ready'))).status === 200 && (await fetch(url('maintain', '/ready'))).status === 200) break;
  } catch { /* not yet */ }
  if (i > 200) throw new Error('server not ready: ' + fs.readFileSync(path.join(dir, 'server.log'), 'utf8'));
  await new Promise((r) => setTimeout(r, 50));
}

const cpuTicks = () => {
  const f = fs.readFileSync(`/proc/${srv.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(f[11]) + Number(f[12]); // utime, stime (fields 14, 15)
};
const TICK = 100; // CLK_TCK on Linux

log(`# ${N} lines, corpus ${corpus.length} lines, ingest over OTLP/HTTP JSON into ${dir}`);
let t = performance.now();
{
  const gen = records();
  let done = false;
  const next = () => {
    if (done) return null;
    const recs = [];
    for (let k = 0; k < 4000; k++) {
      const r = gen.next();
      if (r.done) { done = true; break; }
      recs.push(r.value);
    }
    return recs.length ? request(recs) : null;
  };
  const client = async () => {
    for (let body = next(); body; body = next()) {
      for (;;) {
        const res = await fetch(url('otlp_http', '/v1/logs'), { method: 'POST', body,
          headers: { 'Content-Type': 'application/json', 'X-Scope-OrgID': TENANT } });
        await res.arrayBuffer();
        if (res.status === 200) break;
        if (res.status !== 429 && res.status !== 503) throw new Error(`ingest: HTTP ${res.status}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  };
  await Promise.all([client(), client()]);
}
const ingestS = (performance.now() - t) / 1000;
log(`# ingested ${N} lines, ${(allBytes / 1e6).toFixed(1)} MB of raw log in ${ingestS.toFixed(1)} s`);
t = performance.now();
{
  const res = await fetch(url('maintain', '/maintain/run?job=shift'), { method: 'POST' });
  const txt = await res.text();
  if (res.status !== 200) throw new Error(`shift: HTTP ${res.status} ${txt}`);
}
const shiftS = (performance.now() - t) / 1000;
const files = [];
const walk = (d) => {
  for (const e of fs.readdirSync(d, { withFileTypes: true })) {
    const p = path.join(d, e.name);
    if (e.isDirectory()) walk(p);
    else if (p.endsWith('.parquet')) files.push(p);
  }
};
walk(path.join(dir, 'data', 'warehouse', 'icegate', 'logs', 'data'));
const fileBytes = files.reduce((a, f) => a + fs.statSync(f).size, 0);
log(`# shift ${shiftS.toFixed(1)} s: ${files.length} data files, ${(fileBytes / 1e6).toFixed(1)} MB`);

// ---------------------------------------------------------------- 2. questions
const W = { q2: 300, q3: 60, q4: 3600 };
const Q = [
  { id: 'q1', name: '{service_name="app"} |= "panic" limit 100 backward', bytes: bytesBy.get('app'),
    params: { query: '{service_name="app"} |= "panic"', start: `${T0}000000000`, end: `${T0 + SPAN}000000000`,
      limit: '100', direction: 'backward' } },
  { id: 'q2', name: 'sum by (level) (count_over_time({service_name=~".+"} |= "error" [5m]))', bytes: allBytes,
    params: { query: 'sum by (level) (count_over_time({service_name=~".+"} |= "error" [5m]))',
      start: String(T0 + W.q2), end: String(T0 + SPAN), step: String(W.q2) } },
  { id: 'q3', name: 'sum(rate({service_name="checkout"} | json | status >= 500 [1m]))', bytes: bytesBy.get('checkout'),
    params: { query: 'sum(rate({service_name="checkout"} | json | status >= 500 [1m]))',
      start: String(T0 + W.q3), end: String(T0 + SPAN), step: String(W.q3) } },
  { id: 'q4', name: 'topk(5, sum by (host) (count_over_time({service_name="gateway"} | logfmt [1h])))',
    bytes: bytesBy.get('gateway'),
    params: { query: 'topk(5, sum by (host) (count_over_time({service_name="gateway"} | logfmt [1h])))',
      start: String(T0 + W.q4), end: String(T0 + SPAN), step: String(W.q4) } },
];

// answers normalised to sorted "key -> value" lines
const norm = (rows) => rows.map(([k, v]) => `${k} ${typeof v === 'number' ? v.toPrecision(9) : v}`).sort().join('\n');
async function ours(q) {
  const res = await fetch(url('loki', '/loki/api/v1/query_range?' + new URLSearchParams(q.params)),
    { headers: { 'X-Scope-OrgID': TENANT } });
  const txt = await res.text();
  if (res.status !== 200) throw new Error(`${q.id}: HTTP ${res.status} ${txt.slice(0, 300)}`);
  const r = JSON.parse(txt).data;
  if (q.id === 'q1') {
    return norm(r.result.flatMap((s) => s.values.map((v) => [String(BigInt(v[0]) / 1000n), v[1]])));
  }
  return norm(r.result.flatMap((s) => s.values.map((v) => [`${Object.values(s.metric).join(',')}@${v[0]}`, Number(v[1])])));
}

const list = `[${files.map((f) => `'${f}'`).join(',')}]`;
// bucket: the step (window end, seconds) whose (t - w, t] holds the row
const sql = (eng) => {
  const D = eng === 'duckdb';
  // chdb: the partition directories at their exact depth (tenant/account/day); a `**`
  // glob counted every row twice at 10M lines
  const F = D ? `read_parquet(${list})` : `file('${dir}/data/warehouse/icegate/logs/data/*/*/*/*.parquet', Parquet)`;
  const us = D ? 'epoch_us("timestamp")' : 'toUnixTimestamp64Micro("timestamp")';
  const bucket = (w) => (D ? `(${T0} + ((${us} - ${T0_US} + ${w * 1e6} - 1) // ${w * 1e6}) * ${w})`
    : `(${T0} + intDiv(${us} - ${T0_US} + ${w * 1e6} - 1, ${w * 1e6}) * ${w})`);
  const has = (s) => (D ? `contains(body, '${s}')` : `position(body, '${s}') > 0`);
  const ten = `tenant_id = '${TENANT}'`;
  const m = (col, k) => (D ? `${col}['${k}']` : `${col}['${k}']`);
  const status = D ? `TRY(CAST(json_extract_string(body, '$.status') AS INTEGER))` : `JSONExtractInt(body, 'status')`;
  return {
    q1: `SELECT ${us} AS k, body AS v FROM ${F} WHERE ${ten} AND service_name = 'app' AND ${has('panic')} ORDER BY k DESC LIMIT 100`,
    q2: `SELECT ${m('attributes', 'level')} || '@' || CAST(${bucket(W.q2)} AS VARCHAR) AS k, count(*) AS v FROM ${F}
         WHERE ${ten} AND ${has('error')} GROUP BY k`,
    q3: `SELECT '@' || CAST(${bucket(W.q3)} AS VARCHAR) AS k, count(*) / 60.0 AS v FROM ${F}
         WHERE ${ten} AND service_name = 'checkout' AND ${status} >= 500 GROUP BY k`,
    q4: `SELECT h || '@' || CAST(b AS VARCHAR) AS k, n AS v FROM (
           SELECT h, b, n, row_number() OVER (PARTITION BY b ORDER BY n DESC) AS rn FROM (
             SELECT ${m('resource_attributes', 'host')} AS h, ${bucket(W.q4)} AS b, count(*) AS n FROM ${F}
             WHERE ${ten} AND service_name = 'gateway' GROUP BY h, b) AS c) AS r WHERE rn <= 5`,
  };
};

const engines = [{ name: 'IceGate', run: ours, cpu: () => cpuTicks() / TICK }];
const inproc = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
const duckdb = await loadDep('@duckdb/node-api');
if (duckdb) {
  const inst = await duckdb.DuckDBInstance.create(':memory:', { threads: String(os.cpus().length) });
  const con = await inst.connect();
  const S = sql('duckdb');
  engines.push({ name: 'DuckDB', cpu: inproc, run: async (q) => {
    const r = await con.runAndReadAll(S[q.id]);
    return norm(r.getRows().map(([k, v]) => [String(k), typeof v === 'bigint' ? Number(v) : v]));
  } });
} else log('# DuckDB not installed (scripts/setup.sh): not measured');
const chdbMod = path.join(here, 'node', 'node_modules', 'chdb', 'index.mjs');
if (fs.existsSync(chdbMod)) {
  const { Session } = await import(pathToFileURL(chdbMod).href);
  const session = new Session(path.join(dir, 'chdb'));
  const S = sql('chdb');
  engines.push({ name: 'chdb', cpu: inproc, run: async (q) => {
    const out = session.query(S[q.id], 'JSONCompactEachRow');
    return norm(out.split('\n').filter(Boolean).map((l) => {
      const [k, v] = JSON.parse(l);
      return [String(k), typeof v === 'string' && q.id !== 'q1' ? Number(v) : v];
    }));
  } });
} else log('# chdb not installed (npm install in bench/node): not measured');

let bad = 0;
const results = [];
for (const q of Q) {
  const answers = [];
  for (const e of engines) answers.push(await e.run(q));
  const n = answers[0].split('\n').length;
  for (let i = 1; i < engines.length; i++) {
    if (answers[i] !== answers[0]) {
      bad++;
      log(`# ${q.id}: ${engines[i].name} answers differently from IceGate`);
      const a = answers[0].split('\n');
      const b = answers[i].split('\n');
      log(`#   IceGate ${a.length} rows, ${engines[i].name} ${b.length}; first differences:`);
      log(a.filter((x) => !b.includes(x)).slice(0, 3).map((x) => `#   IceGate only: ${x.slice(0, 160)}`).join('\n'));
      log(b.filter((x) => !a.includes(x)).slice(0, 3).map((x) => `#   ${engines[i].name} only: ${x.slice(0, 160)}`).join('\n'));
    }
  }
  log(`# ${q.id}: ${n} answer rows${engines.length > 1 ? (bad ? '' : ', equal across engines') : ''}`);
  for (const e of engines) {
    const lat = [];
    const c0 = e.cpu();
    for (let r = 0; r < REPS; r++) {
      const s = performance.now();
      await e.run(q);
      lat.push(performance.now() - s);
    }
    const cpu = e.cpu() - c0;
    lat.sort((a, b) => a - b);
    const row = { q: q.id, engine: e.name, p50_ms: lat[lat.length >> 1], min_ms: lat[0], cpu_s_per_run: cpu / REPS,
      raw_mb: q.bytes / 1e6, gbs_per_core: cpu > 0 ? (q.bytes * REPS) / cpu / 1e9 : null,
      gbs_wall: q.bytes / (lat[lat.length >> 1] / 1000) / 1e9 };
    results.push(row);
    log(JSON.stringify(row));
  }
}

// ---------------------------------------------------------------- 3. table
const fmt = (x, d = 2) => (x == null ? '–' : x.toFixed(d));
log(`\n${N} lines, ${(allBytes / 1e6).toFixed(0)} MB raw, ${files.length} data files (${(fileBytes / 1e6).toFixed(0)} MB); ` +
  `ingest ${ingestS.toFixed(1)} s, shift ${shiftS.toFixed(1)} s; median of ${REPS}\n`);
log('| query | raw MB | engine | p50 ms | CPU s/run | GB/s per core | latency ours/engine |');
log('|---|---:|---|---:|---:|---:|---:|');
for (const q of Q) {
  const o = results.find((r) => r.q === q.id && r.engine === 'IceGate');
  for (const r of results.filter((x) => x.q === q.id)) {
    log(`| ${q.id} | ${r.raw_mb.toFixed(0)} | ${r.engine} | ${fmt(r.p50_ms, 1)} | ${fmt(r.cpu_s_per_run, 3)} | ` +
      `${fmt(r.gbs_per_core)} | ${r.engine === 'IceGate' ? '' : fmt(o.p50_ms / r.p50_ms)} |`);
  }
}
const q1 = results.find((r) => r.q === 'q1' && r.engine === 'IceGate');
log(`\nsubstring filter (q1): ${fmt(q1.gbs_per_core)} GB/s of raw log per core (target 2 GB/s: ${q1.gbs_per_core >= 2 ? 'met' : 'MISSED'})`);
srv.kill('SIGTERM');
await new Promise((r) => srv.once('exit', r));
if (KEEP) log(`# kept: ${dir}`);
process.exit(bad ? 1 : 0); // DuckDB/chdb handles would keep the event loop alive

#!/usr/bin/env node
// OTLP logs ingest benchmark (a program, not a test): IceGate's OTLP/HTTP ingest (decode →
// WAL group commit → acknowledgement) under load, decode-only throughput, and ClickHouse
// (chdb, in-process) inserting the same records. See bench/README.md.
//
//   node bench/ingest_bench.mjs [--seconds 10] [--clients 2] [--intervals 20ms,200ms]
//        [--records 50000] [--sizes 100,1000] [--formats pb,json] [--port 14318]
//        [--no-chdb] [--chdb-reps 3] [--out results.json] [--keep]
//
// Needs `make -j2` first (build/icegate, build/tools/otlpbench); it builds nothing. The
// peer needs `npm ci` in bench/node (chdb ships its engine as a prebuilt npm package);
// without it the script reports ours only and says so.
//
// Steps:
//  1. `otlpbench gen`: for each size S (records per request) and format, a bundle of
//     --records / S requests built from the corpus lines (../shared/corpus/logs). Record i
//     is the same in every bundle, so every combination sends the same records; the same
//     records as ClickHouse JSONEachRow for the peer.
//  2. `otlpbench decode`: decode-only throughput (ig_otlp_decode) and the pure wire walk
//     (pb_reader / json_next) on one thread.
//  3. Per WAL flush interval: `icegate run` in a fresh temp data dir (only the OTLP/HTTP
//     listener, wal.flush_interval from a YAML config), then per size and format
//     `otlpbench load` (--clients keep-alive connections, --seconds after 1 s of warm-up,
//     each client cycling through the bundle) with --pid: the server's CPU time over the
//     window gives records/s per core used.
//  4. chdb: a MergeTree table with the same columns, the same records inserted as
//     JSONEachRow in batches of S (one process, sequential awaited inserts, timed; CPU
//     time of the whole process, engine threads included), --chdb-reps times into a fresh
//     table, median. Once with the table's defaults (no fsync) and once with
//     fsync_after_insert=1, fsync_part_directory=1 (durable like our acknowledgement).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';

const here = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(here, '..');
const BIN = process.env.ICEGATE_BIN || path.join(REPO, 'build', 'icegate');
const TOOLS = process.env.ICEGATE_TOOLS || path.join(REPO, 'build', 'tools');
const OTLPBENCH = path.join(TOOLS, 'otlpbench');
const SHARED = process.env.SHARED_DIR || path.resolve(REPO, '..', 'shared');
const CORPUS = path.join(SHARED, 'corpus', 'logs');

// ---------------------------------------------------------------- options
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const SECONDS = Number(opt('seconds', 10));
const CLIENTS = Number(opt('clients', 2));
const INTERVALS = opt('intervals', '20ms,200ms').split(',');
const RECORDS = Number(opt('records', 50_000));
const SIZES = opt('sizes', '100,1000').split(',').map(Number);
const FORMATS = opt('formats', 'pb,json').split(',');
const PORT = Number(opt('port', 14318));
const CHDB = !args.includes('--no-chdb');
const CHDB_REPS = Number(opt('chdb-reps', 3));
const OUT = opt('out', null);
const KEEP = args.includes('--keep');
const TENANT = 'bench';

const DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'icegate-ingest-bench-'));
if (!KEEP) process.on('exit', () => fs.rmSync(DIR, { recursive: true, force: true }));
else process.stderr.write(`# keeping ${DIR}\n`);

const log = (s) => process.stderr.write(`${s}\n`);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (n, d = 1) => (n == null || Number.isNaN(n) ? 'n/a' : Math.abs(n) >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(d));

function otlpbench(argv) {
  const res = spawnSync(OTLPBENCH, argv, { encoding: 'utf8', cwd: REPO, maxBuffer: 1 << 24 });
  if (res.status !== 0) throw new Error(`otlpbench ${argv.join(' ')}: exit ${res.status}: ${res.stderr.slice(-800)}`);
  if (res.stderr.trim()) log(res.stderr.trim());
  return res.stdout.trim().split('\n').map((l) => JSON.parse(l));
}

// ---------------------------------------------------------------- 1. requests
for (const f of [BIN, OTLPBENCH]) if (!fs.existsSync(f)) throw new Error(`${f} missing: run make -j2 first`);
const reqFile = (size, format) => path.join(DIR, `req-${size}.${format}`);
const gen = {};
for (const size of SIZES) {
  for (const format of FORMATS) {
    const n = Math.max(1, Math.round(RECORDS / size));
    gen[`${size}.${format}`] = otlpbench(['gen', '--records', String(size), '--requests', String(n), '--format', format, '--corpus', CORPUS, reqFile(size, format)])[0];
  }
}
const JSONL = path.join(DIR, 'records.jsonl');
const genJsonl = otlpbench(['gen', '--records', String(RECORDS), '--format', 'jsonl', '--tenant', TENANT, '--corpus', CORPUS, JSONL])[0];
log(`# requests built in ${DIR}: ${RECORDS} records, ${genJsonl.body_bytes_per_record} body bytes per record`);

// ---------------------------------------------------------------- 2. decode-only
const decode = {};
for (const size of SIZES) {
  for (const format of FORMATS) {
    const [full, walk] = otlpbench(['decode', reqFile(size, format), '--format', format]);
    decode[`${size}.${format}`] = { full, walk };
    log(`# decode ${size} ${format}: ${fmt(full.best_mb_per_s)} MB/s, ${fmt(full.best_records_per_s)} rec/s; walk ${fmt(walk.best_mb_per_s)} MB/s`);
  }
}

// ---------------------------------------------------------------- 3. load
function waitPort(port, ms) {
  const until = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const tryOnce = () => {
      const s = net.connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve();
      });
      s.on('error', () => {
        s.destroy();
        if (Date.now() > until) reject(new Error(`port ${port} not listening after ${ms} ms`));
        else setTimeout(tryOnce, 50);
      });
    };
    tryOnce();
  });
}

async function startServer(interval) {
  const dir = path.join(DIR, `server-${interval}`);
  fs.mkdirSync(dir, { recursive: true });
  const cfg = path.join(dir, 'icegate.yaml');
  fs.writeFileSync(cfg, `wal:\n  flush_interval: ${interval}\n`);
  const env = {
    ...process.env,
    ICEGATE_DATA_DIR: path.join(dir, 'data'),
    ICEGATE_LISTEN_HOST: '127.0.0.1',
    ICEGATE_OTLP_HTTP_PORT: String(PORT),
    ICEGATE_OTLP_GRPC_PORT: '0',
    ICEGATE_LOKI_PORT: '0',
    ICEGATE_TEMPO_PORT: '0',
    ICEGATE_PROMETHEUS_PORT: '0',
    ICEGATE_MAINTAIN_PORT: '0',
    ICEGATE_CATALOG_PORT: '0',
  };
  const logFd = fs.openSync(path.join(dir, 'server.log'), 'w');
  const child = spawn(BIN, ['run', '--config', cfg], { env, stdio: ['ignore', logFd, logFd] });
  fs.closeSync(logFd);
  let exited = null;
  child.on('exit', (code, sig) => { exited = { code, sig }; });
  try {
    await waitPort(PORT, 10_000);
  } catch (e) {
    child.kill('SIGKILL');
    throw new Error(`${e.message}; server log:\n${fs.readFileSync(path.join(dir, 'server.log'), 'utf8').slice(-2000)}`);
  }
  if (exited) throw new Error(`server exited: ${JSON.stringify(exited)}`);
  return { child, dir };
}

async function stopServer(srv) {
  if (srv.child.exitCode !== null) return;
  const done = new Promise((r) => srv.child.on('exit', r));
  srv.child.kill('SIGTERM');
  const t = setTimeout(() => srv.child.kill('SIGKILL'), 15_000);
  await done;
  clearTimeout(t);
}

function dirBytes(d) {
  let n = 0;
  for (const e of fs.readdirSync(d, { withFileTypes: true })) {
    const p = path.join(d, e.name);
    n += e.isDirectory() ? dirBytes(p) : fs.statSync(p).size;
  }
  return n;
}

const load = [];
for (const interval of INTERVALS) {
  const srv = await startServer(interval);
  try {
    for (const size of SIZES) {
      for (const format of FORMATS) {
        const m = otlpbench(['load', '--url', `http://127.0.0.1:${PORT}/v1/logs`, '--file', reqFile(size, format), '--format', format,
          '--clients', String(CLIENTS), '--seconds', String(SECONDS), '--warmup', '1', '--tenant', TENANT, '--pid', String(srv.child.pid)])[0];
        m.interval = interval;
        m.size = size;
        load.push(m);
        log(`# load ${interval} ${size} ${format}: ${fmt(m.records_per_s)} rec/s, ${fmt(m.records_per_core_s)} rec/s/core, p50 ${m.p50_ms} ms, p99 ${m.p99_ms} ms, errors ${m.errors}`);
      }
    }
  } finally {
    await stopServer(srv);
  }
  const wal = path.join(srv.dir, 'data');
  load.filter((m) => m.interval === interval).forEach((m) => { m.data_dir_bytes_after = fs.existsSync(wal) ? dirBytes(wal) : null; });
}

// ---------------------------------------------------------------- 4. chdb
let chdb = null;
let chdbNote = CHDB ? null : 'chdb skipped (--no-chdb)';
if (CHDB) {
  const mod = path.join(here, 'node', 'node_modules', 'chdb', 'index.mjs');
  if (!fs.existsSync(mod)) {
    chdbNote = 'chdb is not installed (run `npm ci` in bench/node): peer not measured';
  } else {
    try {
      chdb = await runChdb(await import(pathToFileURL(mod).href));
    } catch (e) {
      chdbNote = `chdb failed: ${e.message}`;
    }
  }
  if (chdbNote) log(`# ${chdbNote}`);
}

async function runChdb({ Session }) {
  const lines = fs.readFileSync(JSONL);
  // split into records (byte offsets of line starts)
  const starts = [0];
  for (let i = lines.indexOf(10); i >= 0 && i + 1 < lines.length; i = lines.indexOf(10, i + 1)) starts.push(i + 1);
  starts.push(lines.length);
  const nrec = starts.length - 1;
  const session = new Session(path.join(DIR, 'chdb'));
  const version = session.query('SELECT version()', 'TSV').trim();
  const ddl = (settings) => `CREATE TABLE logs (
      tenant_id LowCardinality(String), timestamp DateTime64(9), observed_timestamp DateTime64(9),
      service_name LowCardinality(String), severity_text LowCardinality(String), severity_number UInt8,
      body String, trace_id String, span_id String, flags UInt32,
      scope_name LowCardinality(String), scope_version LowCardinality(String),
      resource_attributes Map(LowCardinality(String), String), attributes Map(LowCardinality(String), String)
    ) ENGINE = MergeTree ORDER BY (tenant_id, service_name, timestamp)${settings ? ` SETTINGS ${settings}` : ''}`;
  const results = [];
  for (const [mode, settings] of [['default', ''], ['fsync', 'fsync_after_insert = 1, fsync_part_directory = 1']]) {
    for (const size of SIZES) {
      const batches = [];
      for (let i = 0; i < nrec; i += size) batches.push(lines.subarray(starts[i], starts[Math.min(i + size, nrec)]));
      const reps = [];
      for (let rep = 0; rep < CHDB_REPS; rep++) {
        session.query('DROP TABLE IF EXISTS logs SYNC');
        session.query(ddl(settings));
        const lat = [];
        const cpu0 = process.cpuUsage();
        const t0 = performance.now();
        for (const b of batches) {
          const s = performance.now();
          await session.insert({ table: 'logs', values: b, format: 'JSONEachRow' });
          lat.push(performance.now() - s);
        }
        const wall = (performance.now() - t0) / 1000;
        const cpu = process.cpuUsage(cpu0);
        const cpuS = (cpu.user + cpu.system) / 1e6;
        const count = Number(session.query('SELECT count() FROM logs', 'TSV').trim());
        if (count !== nrec) throw new Error(`chdb stored ${count} rows, expected ${nrec}`);
        lat.sort((a, b) => a - b);
        reps.push({
          wall, cpu_s: cpuS, records_per_s: nrec / wall, records_per_core_s: nrec / cpuS,
          mb_per_s: lines.length / wall / 1e6, p50_ms: lat[Math.floor(lat.length / 2)], p99_ms: lat[Math.floor(lat.length * 0.99)],
        });
      }
      const pick = reps.find((r) => r.wall === median(reps.map((x) => x.wall)));
      const parts = Number(session.query("SELECT count() FROM system.parts WHERE table = 'logs' AND active", 'TSV').trim());
      const bytes = Number(session.query("SELECT sum(bytes_on_disk) FROM system.parts WHERE table = 'logs' AND active", 'TSV').trim());
      results.push({ mode, size, records: nrec, jsonl_bytes: lines.length, ...pick, parts_after: parts, bytes_on_disk: bytes });
      log(`# chdb ${mode} batches of ${size}: ${fmt(pick.records_per_s)} rec/s, ${fmt(pick.records_per_core_s)} rec/s/core, p50 ${pick.p50_ms.toFixed(2)} ms`);
    }
  }
  session.query('DROP TABLE IF EXISTS logs SYNC');
  session.close();
  return { version, results };
}

// ---------------------------------------------------------------- report
const cores = os.cpus().length;
const out = {
  date: new Date().toISOString(), machine: { cores, model: os.cpus()[0]?.model, mem_gb: Math.round(os.totalmem() / 2 ** 30) },
  node: process.version, options: { SECONDS, CLIENTS, INTERVALS, RECORDS, SIZES, FORMATS }, gen, genJsonl, decode, load, chdb, chdbNote,
};
if (OUT) fs.writeFileSync(OUT, JSON.stringify(out, null, 2));

const chdbFor = (size, mode = 'default') => chdb?.results.find((r) => r.size === size && r.mode === mode);
const TARGET = { pb: 300_000, json: 150_000 };
let md = '';
md += `${out.date}, ${cores} cores (${out.machine.model}), node ${process.version}${chdb ? `, chdb ${chdb.version}` : ''}. ${RECORDS} records; ${CLIENTS} clients, ${SECONDS} s per run after 1 s warm-up.\n\n`;
md += '#### Ingest under load (server CPU: sum of its threads, /proc/PID/task/*/schedstat)\n\n';
md += '| flush | rec/req | format | req bytes | rec/s | MB/s | server cores | **rec/s per core** | MB/s per core | p50 ms | p99 ms | max ms | target/core | ours/chdb per core | ours/chdb (fsync) per core |\n';
md += '|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n';
for (const m of load) {
  const c = chdbFor(m.size), cf = chdbFor(m.size, 'fsync');
  md += `| ${m.interval} | ${m.size} | ${m.format} | ${fmt(m.request_bytes)} | ${fmt(m.records_per_s)} | ${fmt(m.mb_per_s)} | ${fmt(m.server_cores, 2)} | **${fmt(m.records_per_core_s)}** | ${fmt(m.mb_per_core_s)} | ${fmt(m.p50_ms)} | ${fmt(m.p99_ms)} | ${fmt(m.max_ms)} | ${m.records_per_core_s >= TARGET[m.format] ? 'met' : 'MISSED'} (${fmt(TARGET[m.format])}) | ${c ? (m.records_per_core_s / c.records_per_core_s).toFixed(2) : 'n/a'} | ${cf ? (m.records_per_core_s / cf.records_per_core_s).toFixed(2) : 'n/a'} |\n`;
}
md += '\n#### Decode only (one thread, best of 5 rounds)\n\n';
md += '| rec/req | format | ig_otlp_decode MB/s | rec/s | wire walk MB/s | walk rec/s | physical reference |\n|---:|---|---:|---:|---:|---:|---:|\n';
for (const [k, d] of Object.entries(decode)) {
  const [size, format] = k.split('.');
  md += `| ${size} | ${format} | ${fmt(d.full.best_mb_per_s)} | ${fmt(d.full.best_records_per_s)} | ${fmt(d.walk.best_mb_per_s)} | ${fmt(d.walk.best_records_per_s)} | ${format === 'pb' ? '~2000' : '~1500'} MB/s |\n`;
}
md += '\n#### chdb (ClickHouse in-process), JSONEachRow inserts into MergeTree\n\n';
if (chdb) {
  md += '| table settings | batch | rec/s | MB/s (JSONEachRow) | CPU s | rec/s per core | p50 ms | p99 ms | parts after |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n';
  for (const r of chdb.results) md += `| ${r.mode} | ${r.size} | ${fmt(r.records_per_s)} | ${fmt(r.mb_per_s)} | ${fmt(r.cpu_s, 2)} | ${fmt(r.records_per_core_s)} | ${fmt(r.p50_ms, 2)} | ${fmt(r.p99_ms, 2)} | ${r.parts_after} |\n`;
} else md += `${chdbNote}\n`;
process.stdout.write(md);

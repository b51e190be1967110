#!/usr/bin/env node
// Shift benchmark (a program, not a test): WAL → Iceberg throughput of corpus-like log rows,
// and data-file bytes per row beside DuckDB writing the same rows. See bench/README.md.
//
//   node bench/shift_bench.mjs [--rows 5000000] [--tenants 4] [--per-request 20000]
//
// Needs `make` first (build/tools/shiftbench, build/icegate) and scripts/setup.sh (DuckDB in
// tests/node); it builds nothing. Steps:
//   1. build/tools/shiftbench writes the rows into a WAL (one segment per request) and times
//      one shift of the logs table (SHIFTBENCH_KEEP keeps its data dir);
//   2. `icegate maintain compact` on that data dir merges shift's files into target-size
//      files (timed, bytes/row again);
//   3. DuckDB (in-process) reads the same rows back from the data files and writes them to
//      one zstd Parquet file, as read and sorted like IceGate's sort order; bytes/row of each.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { TOOLS, BIN, loadDep } from '../tests/interop/lib/env.mjs';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const ROWS = Number(opt('rows', 5_000_000));
const TENANTS = Number(opt('tenants', 4));
const PER_REQ = Number(opt('per-request', 20_000));

const sb = spawnSync(path.join(TOOLS, 'shiftbench'), [String(ROWS), String(TENANTS), String(PER_REQ)], {
  env: { ...process.env, SHIFTBENCH_KEEP: '1' },
  encoding: 'utf8',
});
if (sb.status !== 0) {
  console.error(sb.stderr || sb.stdout);
  process.exit(1);
}
process.stdout.write(sb.stdout);
const dir = /kept: (\S+)/.exec(sb.stdout)?.[1];
if (!dir) process.exit(1);

function dataFiles() {
  // the live files of the current snapshot are what compaction leaves: list the newest
  // metadata's manifests would need Avro; after compaction the old files are still on disk
  // (expire-snapshots deletes them), so take the sizes from the snapshot summary instead
  const mdDir = path.join(dir, 'warehouse', 'icegate', 'logs', 'metadata');
  const latest = fs.readdirSync(mdDir).filter((f) => f.endsWith('.metadata.json')).sort().at(-1);
  const md = JSON.parse(fs.readFileSync(path.join(mdDir, latest), 'utf8'));
  const snap = md.snapshots.find((s) => s['snapshot-id'] === md['current-snapshot-id']);
  return { bytes: Number(snap.summary['total-files-size']), files: Number(snap.summary['total-data-files']) };
}

const t0 = performance.now();
const cp = spawnSync(BIN, ['maintain', 'compact'], { env: { ...process.env, ICEGATE_DATA_DIR: dir }, encoding: 'utf8' });
const secs = (performance.now() - t0) / 1000;
if (cp.status !== 0) {
  console.error(cp.stderr);
  process.exit(1);
}
const after = dataFiles();
console.log(`compact: ${secs.toFixed(2)} s (process), ${after.files} data files, ${(after.bytes / ROWS).toFixed(1)} bytes/row`);

const duckdb = await loadDep('@duckdb/node-api');
if (!duckdb) {
  console.log('DuckDB not installed (scripts/setup.sh): no comparison');
} else {
  const inst = await duckdb.DuckDBInstance.create(':memory:', {
    threads: '2', extension_directory: path.join(dir, 'duckdb-ext'),
    autoinstall_known_extensions: 'false', autoload_known_extensions: 'false',
  });
  const con = await inst.connect();
  const files = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (p.endsWith('.parquet')) files.push(p);
    }
  };
  walk(path.join(dir, 'warehouse', 'icegate', 'logs', 'data'));
  // after compaction both shift's and compact's files are on disk: read only compact's
  // (the newest files), whose rows are exactly the table's
  files.sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs);
  const live = files.slice(0, after.files);
  const list = `[${live.map((f) => `'${f}'`).join(',')}]`;
  for (const [name, order] of [['as read', ''], ['sorted like IceGate', 'ORDER BY tenant_id, account_id, service_name, timestamp DESC']]) {
    const out = path.join(dir, `duckdb-${name.replace(/ /g, '-')}.parquet`);
    const s0 = performance.now();
    await con.run(`COPY (SELECT * FROM read_parquet(${list}) ${order}) TO '${out}' (FORMAT parquet, COMPRESSION zstd)`);
    const ds = (performance.now() - s0) / 1000;
    console.log(`duckdb (${name}): ${(fs.statSync(out).size / ROWS).toFixed(1)} bytes/row (read + write ${ds.toFixed(2)} s, 2 threads)`);
  }
}
fs.rmSync(dir, { recursive: true, force: true });

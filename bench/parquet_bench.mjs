#!/usr/bin/env node
// Parquet benchmark (a program, not a test): IceGate's writer/reader vs DuckDB, single thread,
// on logs-shaped rows. See bench/README.md.
//
//   node bench/parquet_bench.mjs [--rows 1000000] [--codec zstd] [--level 3]
//        [--rg-rows 122880] [--reps 3] [--dir DIR] [--keep]
//
// Everything timed for "ours" is in OURS below; swap in a dedicated bench tool there.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { TOOLS, SHARED, loadDep } from '../tests/interop/lib/env.mjs';
import { LOGS_SCHEMA, rng } from '../tests/interop/lib/gen.mjs';

// ---------------------------------------------------------------- options
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const ROWS = Number(opt('rows', 1_000_000));
const CODEC = opt('codec', 'zstd');
const LEVEL = Number(opt('level', 3));
const RG_ROWS = Number(opt('rg-rows', 122_880));
const REPS = Number(opt('reps', 3));
const KEEP = args.includes('--keep');
const DIR = opt('dir', null) || fs.mkdtempSync(path.join(os.tmpdir(), 'icegate-pqbench-'));
fs.mkdirSync(DIR, { recursive: true });
const PQTOOL = process.env.PQTOOL || path.join(TOOLS, 'pqtool');
const DUCK_CODEC = { zstd: 'zstd', snappy: 'snappy', gzip: 'gzip', none: 'uncompressed' }[CODEC];

// ---------------------------------------------------------------- "ours": the commands timed
// Each entry returns [program, args] or null when the tool cannot do it yet.
const OURS = {
  label: 'pqtool',
  write: (schemaFile, jsonl, out) => [PQTOOL, ['write', '--codec', CODEC, '--level', String(LEVEL), '--row-group-rows', String(RG_ROWS), schemaFile, jsonl, out]],
  // full read: decode every column and print JSON lines (to /dev/null)
  readFull: (file) => [PQTOOL, ['cat', file]],
  // projected read; pqtool has no predicate option yet, so this reads the two columns of every row group
  readProjected: (file) => [PQTOOL, ['cat', '--columns', 'timestamp,body', file]],
  // projected read with the timestamp predicate pushed down (row-group skipping): not available yet
  readPredicate: (_file, _lo, _hi) => null,
};

// ---------------------------------------------------------------- helpers
function fmt(n, d = 1) {
  if (n === null || n === undefined || Number.isNaN(n)) return 'n/a';
  return n >= 100 ? n.toFixed(0) : n.toFixed(d);
}

/** Runs a command REPS times (stdout to /dev/null); returns {median wall s, max RSS KB, user+sys s}. */
function timeCmd(cmd) {
  if (!cmd) return null;
  const [prog, a] = cmd;
  const walls = [];
  let rss = 0;
  let cpu = 0;
  for (let i = 0; i < REPS; i++) {
    const tf = path.join(DIR, 'time.txt');
    const t0 = performance.now();
    const res = spawnSync('/usr/bin/time', ['-f', '%M %U %S', '-o', tf, prog, ...a], { stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 26 });
    const wall = (performance.now() - t0) / 1000;
    if (res.status !== 0) throw new Error(`${prog} ${a.join(' ')}: exit ${res.status}: ${String(res.stderr).slice(-500)}`);
    const [m, u, s] = fs.readFileSync(tf, 'utf8').trim().split(/\s+/).slice(-3).map(Number);
    walls.push(wall);
    rss = Math.max(rss, m);
    cpu = u + s;
  }
  walls.sort((x, y) => x - y);
  return { wall: walls[Math.floor(walls.length / 2)], rssKB: rss, cpu };
}

async function timeDuck(db, sql) {
  const walls = [];
  for (let i = 0; i < REPS; i++) {
    const t0 = performance.now();
    await db.run(sql);
    walls.push((performance.now() - t0) / 1000);
  }
  walls.sort((x, y) => x - y);
  return { wall: walls[Math.floor(walls.length / 2)] };
}

// ---------------------------------------------------------------- data
function corpusLines() {
  const dir = path.join(SHARED, 'corpus', 'logs');
  const out = [];
  for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.log')).sort()) {
    const service = f.replace(/\.log$/, '');
    for (const line of fs.readFileSync(path.join(dir, f), 'utf8').split('\n')) if (line) out.push([service, line]);
  }
  return out;
}

const T0 = 1717200000000000n; // 2024-06-01T00:00:00Z in µs

/** Writes ROWS logs-shaped rows as JSONL; tenants in blocks, timestamps increasing. */
function writeInput(file) {
  const lines = corpusLines();
  const r = rng(1);
  const fd = fs.openSync(file, 'w');
  let buf = [];
  let ts = T0;
  const sev = [['DEBUG', 5], ['INFO', 9], ['INFO', 9], ['INFO', 9], ['WARN', 13], ['ERROR', 17]];
  const tenants = ['acme', 'globex', 'initech', 'umbrella'];
  for (let i = 0; i < ROWS; i++) {
    const [service, body] = lines[i % lines.length];
    ts += BigInt(r.int(1, 2000));
    const [stext, snum] = sev[i % sev.length];
    const trace = r() < 0.3 ? null : r.bytes(16).toString('hex');
    const row = `{"tenant_id":"${tenants[Math.floor((i * tenants.length) / ROWS)]}","account_id":null,"service_name":"${service}",`
      + `"timestamp":${ts},"observed_timestamp":${ts + 150n},"trace_id":${trace ? `"${trace}"` : 'null'},`
      + `"span_id":${trace ? `"${r.bytes(8).toString('hex')}"` : 'null'},"severity_number":${snum},"severity_text":"${stext}",`
      + `"body":${JSON.stringify(body)},"line_no":${i},`
      + `"resource_attributes":{"service.name":"${service}","host.name":"host-${i % 7}"},`
      + `"attributes":{"http.method":"${r.pick(['GET', 'POST', 'PUT'])}","http.status_code":"${r.pick(['200', '200', '404', '500'])}","log.file.name":"${service}.log"}}`;
    buf.push(row);
    if (buf.length === 10000) {
      fs.writeSync(fd, `${buf.join('\n')}\n`);
      buf = [];
    }
  }
  if (buf.length) fs.writeSync(fd, `${buf.join('\n')}\n`);
  fs.closeSync(fd);
  return ts;
}

// ---------------------------------------------------------------- main
const duckdb = await loadDep('@duckdb/node-api');
if (!duckdb) {
  console.error('tests/node/node_modules missing: run scripts/setup.sh');
  process.exit(2);
}
const haveOurs = fs.existsSync(PQTOOL);
if (!haveOurs) console.error(`note: ${PQTOOL} not built; only DuckDB is measured`);

console.log(`# parquet bench: ${ROWS} rows, codec ${CODEC} level ${LEVEL}, row groups of ${RG_ROWS}, median of ${REPS}, dir ${DIR}`);
const schemaFile = path.join(DIR, 'logs.schema.json');
fs.writeFileSync(schemaFile, JSON.stringify(LOGS_SCHEMA));
const jsonl = path.join(DIR, 'logs.jsonl');
let t = performance.now();
const tsMax = writeInput(jsonl);
const jsonBytes = fs.statSync(jsonl).size;
console.log(`# input: ${(jsonBytes / 1e6).toFixed(1)} MB JSONL (${(jsonBytes / ROWS).toFixed(0)} B/row), generated in ${((performance.now() - t) / 1000).toFixed(1)} s`);
// predicate: a window of about 0.5% of the time range (about 0.5% of the rows, 1-2 row groups)
const span = tsMax - T0;
const lo = T0 + (span * 613n) / 1000n;
const hi = lo + span / 200n;

const inst = await duckdb.DuckDBInstance.create(':memory:', {
  threads: '1', extension_directory: path.join(DIR, 'duckdb-ext'), autoinstall_known_extensions: 'false', autoload_known_extensions: 'false',
});
const db = await inst.connect();
await db.run("SET TimeZone='UTC'");
await db.run('SET preserve_insertion_order=true');

const results = []; // {op, ours, duck, note}
const oursFile = path.join(DIR, 'ours.parquet');
const duckFile = path.join(DIR, 'duckdb.parquet');

// --- write
const readJson = `read_json(${`'${jsonl}'`}, format='newline_delimited', columns={tenant_id:'VARCHAR', account_id:'VARCHAR', service_name:'VARCHAR', "timestamp":'BIGINT', observed_timestamp:'BIGINT', trace_id:'VARCHAR', span_id:'VARCHAR', severity_number:'INTEGER', severity_text:'VARCHAR', body:'VARCHAR', line_no:'BIGINT', resource_attributes:'MAP(VARCHAR, VARCHAR)', attributes:'MAP(VARCHAR, VARCHAR)'})`;
const selectTyped = `SELECT tenant_id, account_id, service_name, make_timestamp("timestamp")::TIMESTAMPTZ AS "timestamp", make_timestamp(observed_timestamp)::TIMESTAMPTZ AS observed_timestamp, from_hex(trace_id) AS trace_id, from_hex(span_id) AS span_id, severity_number, severity_text, body, line_no, resource_attributes, attributes`;
const copyOpts = `(FORMAT parquet, COMPRESSION ${DUCK_CODEC}${CODEC === 'zstd' ? `, COMPRESSION_LEVEL ${LEVEL}` : ''}, ROW_GROUP_SIZE ${RG_ROWS})`;

const oursWrite = haveOurs ? timeCmd(OURS.write(schemaFile, jsonl, oursFile)) : null;
const duckWriteJson = await timeDuck(db, `COPY (${selectTyped} FROM ${readJson}) TO '${duckFile}' ${copyOpts}`);
results.push({ op: 'write from JSONL', ours: oursWrite, duck: duckWriteJson, note: 'both parse the JSONL' });
await db.run(`CREATE TABLE logs AS ${selectTyped} FROM ${readJson}`);
const duckWriteTable = await timeDuck(db, `COPY logs TO '${duckFile}' ${copyOpts}`);
results.push({ op: 'write from memory', ours: null, duck: duckWriteTable, note: 'DuckDB only: table already in memory (pure writer)' });

// --- reads
const readSql = `read_parquet('${duckFile}')`;
results.push({
  op: 'full read -> JSON lines', ours: haveOurs ? timeCmd(OURS.readFull(oursFile)) : null,
  duck: await timeDuck(db, `COPY (SELECT * FROM ${readSql}) TO '/dev/null' (FORMAT json)`), note: 'decode all columns, print JSON',
});
results.push({
  op: 'full decode (no output)', ours: null,
  duck: await timeDuck(db, `SELECT max(length(body)), max("timestamp"), max(observed_timestamp), count(trace_id), count(span_id), max(severity_number), max(severity_text), max(service_name), max(tenant_id), count(account_id), max(line_no), max(cardinality(resource_attributes)), max(cardinality(attributes)) FROM ${readSql}`),
  note: 'DuckDB only: aggregate touching every column',
});
results.push({
  op: 'projected read (timestamp, body)', ours: haveOurs ? timeCmd(OURS.readProjected(oursFile)) : null,
  duck: await timeDuck(db, `COPY (SELECT "timestamp", body FROM ${readSql}) TO '/dev/null' (FORMAT json)`), note: '2 of 13 columns, all rows',
});
const predOurs = haveOurs ? OURS.readPredicate(oursFile, lo, hi) : null;
results.push({
  op: 'projected + predicate', ours: predOurs ? timeCmd(predOurs) : null,
  duck: await timeDuck(db, `COPY (SELECT "timestamp", body FROM ${readSql} WHERE epoch_us("timestamp") BETWEEN ${lo} AND ${hi}) TO '/dev/null' (FORMAT json)`),
  note: `timestamp window ~0.5% of rows; ${predOurs ? '' : 'pqtool has no predicate option yet'}`,
});
// DuckDB reading OUR file (same query) tells reader speed apart from file layout
if (haveOurs) {
  results.push({
    op: 'DuckDB reads our file: predicate', ours: null,
    duck: await timeDuck(db, `COPY (SELECT "timestamp", body FROM read_parquet('${oursFile}') WHERE epoch_us("timestamp") BETWEEN ${lo} AND ${hi}) TO '/dev/null' (FORMAT json)`),
    note: 'row-group skipping with our statistics',
  });
  const rgs = await (await db.runAndReadAll(`SELECT count(DISTINCT row_group_id) AS n FROM parquet_metadata('${oursFile}')`)).getRowObjectsJson();
  const rgd = await (await db.runAndReadAll(`SELECT count(DISTINCT row_group_id) AS n FROM parquet_metadata('${duckFile}')`)).getRowObjectsJson();
  console.log(`# row groups: ours ${rgs[0].n}, DuckDB ${rgd[0].n}`);
}

// ---------------------------------------------------------------- report
const MB = jsonBytes / 1e6;
const rowsPerS = (x) => (x ? ROWS / x.wall / 1e6 : null);
const mbPerS = (x) => (x ? MB / x.wall : null);
console.log('');
console.log('rates: M rows/s and MB/s of the JSONL input size (same denominator for both); median wall time');
console.log(`${'operation'.padEnd(34)} ${'ours s'.padStart(8)} ${'Mrow/s'.padStart(7)} ${'MB/s'.padStart(7)} ${'RSS MB'.padStart(7)} | ${'DuckDB s'.padStart(8)} ${'Mrow/s'.padStart(7)} ${'MB/s'.padStart(7)} | ${'ours/DuckDB time'.padStart(16)}  note`);
for (const r of results) {
  const ratio = r.ours && r.duck ? r.ours.wall / r.duck.wall : null;
  console.log(`${r.op.padEnd(34)} ${fmt(r.ours?.wall, 2).padStart(8)} ${fmt(rowsPerS(r.ours), 2).padStart(7)} ${fmt(mbPerS(r.ours)).padStart(7)} ${fmt(r.ours ? r.ours.rssKB / 1024 : null).padStart(7)} | ${fmt(r.duck?.wall, 2).padStart(8)} ${fmt(rowsPerS(r.duck), 2).padStart(7)} ${fmt(mbPerS(r.duck)).padStart(7)} | ${fmt(ratio, 2).padStart(16)}  ${r.note}`);
}
const oursSize = haveOurs && fs.existsSync(oursFile) ? fs.statSync(oursFile).size : null;
const duckSize = fs.statSync(duckFile).size;
console.log('');
console.log(`bytes/row on disk: ours ${oursSize ? (oursSize / ROWS).toFixed(1) : 'n/a'} (${oursSize ? (oursSize / 1e6).toFixed(1) : 'n/a'} MB), DuckDB ${(duckSize / ROWS).toFixed(1)} (${(duckSize / 1e6).toFixed(1)} MB)${oursSize ? `, ratio ours/DuckDB ${(oursSize / duckSize).toFixed(2)}` : ''}`);

db.closeSync?.();
inst.closeSync?.();
if (!KEEP && !opt('dir', null)) fs.rmSync(DIR, { recursive: true, force: true });

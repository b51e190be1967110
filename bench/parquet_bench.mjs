#!/usr/bin/env node
// Parquet benchmark (a program, not a test): IceGate's writer/reader vs DuckDB, one thread,
// on logs-shaped rows of IceGate's `logs` table. See bench/README.md.
//
//   node bench/parquet_bench.mjs [--rows 1000000] [--codec zstd] [--level 3]
//        [--rg-rows 122880] [--reps 3] [--sel 0.005] [--dir DIR] [--keep]
//
// Needs `make` first (build/tools/pqbench) and scripts/setup.sh (DuckDB in tests/node); it
// builds nothing. "Ours" is build/tools/pqbench: it generates the rows in memory and times
// only the library call (clock_gettime around the writer / the reads); the same rows go to
// DuckDB through `pqbench dump-jsonl`, loaded once into an in-memory table (not timed).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { TOOLS, SHARED, loadDep } from '../tests/interop/lib/env.mjs';

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
const SEL = Number(opt('sel', 0.005)); // fraction of the time range the predicate keeps (the last part)
const KEEP = args.includes('--keep');
const DIR = opt('dir', null) || fs.mkdtempSync(path.join(os.tmpdir(), 'icegate-pqbench-'));
fs.mkdirSync(DIR, { recursive: true });
const PQBENCH = process.env.PQBENCH || path.join(TOOLS, 'pqbench');
const CORPUS = path.join(SHARED, 'corpus', 'logs');
const DUCK_CODEC = { zstd: 'zstd', snappy: 'snappy', gzip: 'gzip', none: 'uncompressed' }[CODEC];
if (!DUCK_CODEC) throw new Error(`--codec: zstd, snappy, gzip or none`);

// ---------------------------------------------------------------- helpers
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
function fmt(n, d = 1) {
  if (n === null || n === undefined || Number.isNaN(n)) return 'n/a';
  return Math.abs(n) >= 100 ? n.toFixed(0) : n.toFixed(d);
}

/** Runs pqbench once; returns its first JSON line (the measurement) and all lines. */
function pqbench(argv) {
  const res = spawnSync(PQBENCH, argv, { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (res.status !== 0) throw new Error(`pqbench ${argv.join(' ')}: exit ${res.status}: ${res.stderr.slice(-800)}`);
  const lines = res.stdout.trim().split('\n').map((l) => JSON.parse(l));
  return { m: lines[0], all: lines };
}

/** REPS runs of pqbench; median of its own timing (seconds), last measurement kept. */
function timeOurs(argv) {
  const secs = [];
  let last;
  for (let i = 0; i < REPS; i++) {
    last = pqbench(argv);
    secs.push(last.m.seconds);
  }
  return { wall: median(secs), m: last.m, all: last.all };
}

async function timeDuck(db, sql) {
  const walls = [];
  for (let i = 0; i < REPS; i++) {
    const t0 = performance.now();
    await db.run(sql);
    walls.push((performance.now() - t0) / 1000);
  }
  return { wall: median(walls) };
}

async function rows(db, sql) {
  return (await db.runAndReadAll(sql)).getRowObjectsJson();
}

/** TIMESTAMPTZ literal for µs since the epoch (exact to the µs). */
function tsLiteral(us) {
  const secs = us / 1_000_000n;
  const frac = String(us % 1_000_000n).padStart(6, '0');
  const iso = new Date(Number(secs) * 1000).toISOString().replace('T', ' ').replace(/\.\d{3}Z$/, '');
  return `TIMESTAMPTZ '${iso}.${frac}+00'`;
}

// ---------------------------------------------------------------- setup
if (!fs.existsSync(PQBENCH)) {
  console.error(`${PQBENCH} missing: run make -j2 first`);
  process.exit(2);
}
const duckdb = await loadDep('@duckdb/node-api');
if (!duckdb) {
  console.error('tests/node/node_modules missing: run scripts/setup.sh');
  process.exit(2);
}

const jsonl = path.join(DIR, 'logs.jsonl');
const oursFile = path.join(DIR, 'ours.parquet');
const duckFile = path.join(DIR, 'duckdb.parquet');
const rowsArg = ['--rows', String(ROWS), '--corpus', CORPUS];

let t = performance.now();
const dump = pqbench(['dump-jsonl', jsonl, ...rowsArg]).m;
const INPUT = dump.input_bytes; // logical bytes of the rows: the MB/s denominator of every row
console.log(`# parquet bench: ${ROWS} rows of the logs table, codec ${CODEC} level ${LEVEL}, row groups of ${RG_ROWS}, median of ${REPS}, one thread, dir ${DIR}`);
console.log(`# input: ${(INPUT / 1e6).toFixed(1)} MB logical (${(INPUT / ROWS).toFixed(0)} B/row); JSONL for DuckDB ${(dump.jsonl_bytes / 1e6).toFixed(1)} MB, generated in ${((performance.now() - t) / 1000).toFixed(1)} s`);

// predicate: timestamp >= X keeping the last SEL of the time range (most row groups skipped)
const tsMin = BigInt(dump.ts_min);
const tsMax = BigInt(dump.ts_max);
const X = tsMax - ((tsMax - tsMin) * BigInt(Math.round(SEL * 1e6))) / 1_000_000n;

const inst = await duckdb.DuckDBInstance.create(':memory:', {
  threads: '1', extension_directory: path.join(DIR, 'duckdb-ext'), autoinstall_known_extensions: 'false', autoload_known_extensions: 'false',
});
const db = await inst.connect();
await db.run("SET TimeZone='UTC'");
await db.run('SET preserve_insertion_order=true');
const ver = (await rows(db, 'SELECT version() AS v'))[0].v;

t = performance.now();
const map = "'MAP(VARCHAR, VARCHAR)'";
await db.run(`CREATE TABLE logs AS SELECT tenant_id, account_id, service_name,
    make_timestamp("timestamp")::TIMESTAMPTZ AS "timestamp",
    make_timestamp(observed_timestamp)::TIMESTAMPTZ AS observed_timestamp,
    make_timestamp(ingested_timestamp)::TIMESTAMPTZ AS ingested_timestamp,
    from_hex(trace_id) AS trace_id, from_hex(span_id) AS span_id,
    severity_number, severity_text, body,
    NULL::VARCHAR AS event_name, NULL::BIGINT AS flags, NULL::BIGINT AS dropped_attributes_count,
    NULL::VARCHAR AS scope_name, NULL::VARCHAR AS scope_version,
    resource_attributes, scope_attributes, attributes, source
  FROM read_json('${jsonl}', format='newline_delimited', columns={tenant_id:'VARCHAR', account_id:'VARCHAR',
    service_name:'VARCHAR', "timestamp":'BIGINT', observed_timestamp:'BIGINT', ingested_timestamp:'BIGINT',
    trace_id:'VARCHAR', span_id:'VARCHAR', severity_number:'INTEGER', severity_text:'VARCHAR', body:'VARCHAR',
    resource_attributes:${map}, scope_attributes:${map}, attributes:${map}, source:'VARCHAR'})`);
console.log(`# DuckDB ${ver}: JSONL loaded into an in-memory table in ${((performance.now() - t) / 1000).toFixed(1)} s (not timed)`);

const results = []; // {op, ours, duck, note}
const copyOpts = `(FORMAT parquet, COMPRESSION ${DUCK_CODEC}${CODEC === 'zstd' ? `, COMPRESSION_LEVEL ${LEVEL}` : ''}, ROW_GROUP_SIZE ${RG_ROWS})`;
const COLS = ['tenant_id', 'account_id', 'service_name', 'timestamp', 'observed_timestamp', 'ingested_timestamp', 'trace_id', 'span_id',
  'severity_number', 'severity_text', 'body', 'event_name', 'flags', 'dropped_attributes_count', 'scope_name', 'scope_version',
  'resource_attributes', 'scope_attributes', 'attributes', 'source'];
const fullReadSql = (file) => `SELECT ${COLS.map((c) => `count("${c}")`).join(', ')} FROM read_parquet('${file}')`;
const predSql = (file) => `SELECT count(*) AS n, sum(strlen(body))::BIGINT AS body_bytes FROM read_parquet('${file}') WHERE "timestamp" >= ${tsLiteral(X)}`;

// --- write
const oursWrite = timeOurs(['write', oursFile, ...rowsArg, '--codec', CODEC, '--level', String(LEVEL), '--row-group-rows', String(RG_ROWS)]);
results.push({ op: 'write', ours: oursWrite, duck: await timeDuck(db, `COPY logs TO '${duckFile}' ${copyOpts}`), note: 'ours: pq_writer_new..close with ig_rows_write; DuckDB: COPY from the in-memory table' });

// --- full read
results.push({ op: 'full read (all columns)', ours: timeOurs(['read', oursFile]), duck: await timeDuck(db, fullReadSql(duckFile)), note: 'ours: pq_read_column on every chunk, values materialised; DuckDB: count() of every column' });
results.push({ op: 'full read, dictionaries kept', ours: timeOurs(['read', oursFile, '--keep-dict']), duck: null, note: 'ours with PQ_READ_KEEP_DICT (as the query engine reads)' });

// --- projected read with predicate
const oursScan = timeOurs(['scan', oursFile, '--predicate-column', 'timestamp', '--ge', String(X), '--columns', 'timestamp,body']);
const duckScan = await timeDuck(db, predSql(duckFile));
results.push({ op: `scan ts >= X (last ${(SEL * 100).toFixed(1)}%)`, ours: oursScan, duck: duckScan, note: 'projection timestamp+body, rows/s over the whole table; ours prunes row groups (pq_rg_may_match) and pages (pq_page_select), then reads body only for matching rows (late materialisation)' });
const oursScanEarly = timeOurs(['scan', oursFile, '--predicate-column', 'timestamp', '--ge', String(X), '--columns', 'timestamp,body', '--no-late']);
results.push({ op: 'scan, no late materialisation', ours: oursScanEarly, duck: duckScan, note: 'ours reads body over the same pages as timestamp (--no-late)' });

// --- each engine on the other's file (reader speed apart from file layout)
const duckOnOurs = await timeDuck(db, predSql(oursFile));
results.push({ op: 'DuckDB file: full read', ours: timeOurs(['read', duckFile]), duck: results[1].duck, note: 'ours reads the DuckDB-written file' });
results.push({ op: 'our file: scan', ours: oursScan, duck: duckOnOurs, note: 'DuckDB runs the predicate query on our file' });

// ---------------------------------------------------------------- cross-checks (not timed)
const chkOurs = (await rows(db, predSql(oursFile)))[0];
const chkDuck = (await rows(db, predSql(duckFile)))[0];
const sm = oursScan.m;
const agree = Number(chkOurs.n) === sm.rows_matched && Number(chkDuck.n) === sm.rows_matched
  && Number(chkOurs.body_bytes) === sm.matched_bytes.body && Number(chkDuck.body_bytes) === sm.matched_bytes.body;
const digestSql = (file) => `SELECT count(*) AS n, sum(strlen(body))::BIGINT AS body, sum(epoch_us("timestamp"))::VARCHAR AS ts,
  sum(epoch_us(ingested_timestamp))::VARCHAR AS ing, count(trace_id) AS traces, sum(strlen(trace_id::VARCHAR))::BIGINT AS tr,
  sum(cardinality(attributes)) AS na, sum(list_sum(list_transform(map_values(attributes), x -> strlen(x))))::BIGINT AS av, sum(list_sum(list_transform(map_keys(resource_attributes), x -> strlen(x))))::BIGINT AS rk,
  count(DISTINCT service_name) AS svcs, count(DISTINCT tenant_id) AS tenants FROM read_parquet('${file}')`;
const dOurs = JSON.stringify((await rows(db, digestSql(oursFile)))[0]);
const dDuck = JSON.stringify((await rows(db, digestSql(duckFile)))[0]);
const rgOurs = (await rows(db, `SELECT count(DISTINCT row_group_id) AS n FROM parquet_metadata('${oursFile}')`))[0].n;
const rgDuck = (await rows(db, `SELECT count(DISTINCT row_group_id) AS n FROM parquet_metadata('${duckFile}')`))[0].n;

// ---------------------------------------------------------------- report
const rowsPerS = (x) => (x ? ROWS / x.wall / 1e6 : null);
const mbPerS = (x) => (x ? INPUT / 1e6 / x.wall : null);
console.log('');
console.log(`M rows/s and MB/s of the logical input (${(INPUT / 1e6).toFixed(1)} MB, same denominator for both); median of ${REPS}; speed ratio = ours rows/s / DuckDB rows/s (>= 1: ours faster)`);
const head = `| ${'operation'.padEnd(34)} | ${'ours ms'.padStart(8)} | ${'Mrow/s'.padStart(7)} | ${'MB/s'.padStart(7)} | ${'DuckDB ms'.padStart(9)} | ${'Mrow/s'.padStart(7)} | ${'MB/s'.padStart(7)} | ${'ours/DuckDB speed'.padStart(17)} |`;
console.log(head);
console.log(head.replace(/[^|]/g, '-'));
for (const r of results) {
  const ratio = r.ours && r.duck ? r.duck.wall / r.ours.wall : null;
  console.log(`| ${r.op.padEnd(34)} | ${fmt(r.ours ? r.ours.wall * 1000 : null, 2).padStart(8)} | ${fmt(rowsPerS(r.ours), 2).padStart(7)} | ${fmt(mbPerS(r.ours)).padStart(7)} | ${fmt(r.duck ? r.duck.wall * 1000 : null, 2).padStart(9)} | ${fmt(rowsPerS(r.duck), 2).padStart(7)} | ${fmt(mbPerS(r.duck)).padStart(7)} | ${fmt(ratio, 2).padStart(17)} |`);
}
console.log('');
for (const r of results) console.log(`- ${r.op}: ${r.note}`);
const oursSize = fs.statSync(oursFile).size;
const duckSize = fs.statSync(duckFile).size;
console.log('');
console.log(`bytes/row on disk: ours ${(oursSize / ROWS).toFixed(1)} (${(oursSize / 1e6).toFixed(1)} MB, ${rgOurs} row groups), DuckDB ${(duckSize / ROWS).toFixed(1)} (${(duckSize / 1e6).toFixed(1)} MB, ${rgDuck} row groups); size ratio ours/DuckDB ${(oursSize / duckSize).toFixed(3)} (target <= 1.10)`);
console.log(`scan: ours skipped ${sm.row_groups_skipped}/${sm.row_groups} row groups and ${sm.pages_skipped}/${sm.pages} pages of the projected columns, decoded ${sm.rows_decoded} rows, matched ${sm.rows_matched} (body bytes ${sm.matched_bytes.body})`);
console.log(`cross-check predicate: DuckDB on our file ${chkOurs.n} rows / ${chkOurs.body_bytes} body bytes, on its file ${chkDuck.n} / ${chkDuck.body_bytes}, ours ${sm.rows_matched} / ${sm.matched_bytes.body}: ${agree ? 'agree' : 'DISAGREE'}`);
console.log(`cross-check contents (DuckDB digest of both files): ${dOurs === dDuck ? 'identical' : `DIFFER\n  ours ${dOurs}\n  duck ${dDuck}`}`);
const perCol = oursWrite.all.find((l) => l.op === 'write_columns');
if (perCol) {
  const dcols = await rows(db, `SELECT path_in_schema AS p, sum(total_compressed_size)::BIGINT AS c FROM parquet_metadata('${duckFile}') GROUP BY 1 ORDER BY 1`);
  const dmap = Object.fromEntries(dcols.map((x) => [String(x.p).replace(/, /g, '.').replace(/\.key_value\./, '.key_value.'), Number(x.c)]));
  console.log('compressed bytes per column (ours / DuckDB):');
  for (const [c, [comp]] of Object.entries(perCol.columns)) {
    const dk = Object.keys(dmap).find((k) => k === c || k.replace(/^(\w+)\.key_value\./, '$1.key_value.') === c);
    console.log(`  ${c.padEnd(38)} ${String(comp).padStart(10)} ${String(dk ? dmap[dk] : 'n/a').padStart(10)}`);
  }
}
if (!agree || dOurs !== dDuck) process.exitCode = 1;

db.closeSync?.();
inst.closeSync?.();
if (!KEEP && !opt('dir', null)) fs.rmSync(DIR, { recursive: true, force: true });

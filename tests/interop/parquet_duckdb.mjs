// Interop: Parquet files written by IceGate's pqtool, read back by DuckDB (@duckdb/node-api).
// Values (every primitive type, nulls, maps, lists, list<struct{map}>, structs, edge values),
// field ids and types (parquet_schema), row-group statistics (parquet_metadata vs data vs
// pqtool meta), codecs/encodings, bloom filters (parquet_bloom_probe), predicate pushdown,
// and pqtool's own reader (cat, --columns). Real log lines from SHARED_DIR/corpus/logs too.
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { test, ok, diag, done, bail } from './lib/tap.mjs';
import { pqtoolExists, tempDir, loadDep, PQTOOL } from './lib/env.mjs';
import { openDuckdb, sqlStr } from './lib/duckdb.mjs';
import { buildMatrix, buildEdgeFiles, corpusRows, BLOOM_COLS } from './lib/fixtures.mjs';
import { writeJsonl, rng } from './lib/gen.mjs';
import { pqWriteRows, pqMeta } from './lib/pqtool.mjs';
import { checkCat, checkDuckdbValues, checkDuckdbSchema, checkStats, metaRowGroups } from './lib/checks.mjs';
import { kind } from './lib/schema.mjs';
import { show } from './lib/json.mjs';

if (!pqtoolExists()) bail('pqtool not built');
if (!(await loadDep('@duckdb/node-api').catch(() => null))) bail('@duckdb/node-api not installed (scripts/setup.sh)');

const tmp = tempDir('pq-duckdb');
const db = await openDuckdb(tmp);
const CODEC_NAME = { zstd: 'ZSTD', snappy: 'SNAPPY', gzip: 'GZIP', none: 'UNCOMPRESSED' };

/** SQL literal for a probe value of a flat column. */
function sqlValue(t, v) {
  const k = kind(t);
  if (k === 'string') return sqlStr(v);
  if (k === 'long') return `'${v}'::BIGINT`;
  if (k === 'int') return `'${v}'::INTEGER`;
  if (k === 'fixed' || k === 'binary') return `from_hex('${v}')`;
  throw new Error(`no literal for ${k}`);
}

async function checkCodecs(file, cfg, meta) {
  const problems = [];
  const want = CODEC_NAME[cfg.codec];
  const rowsMeta = await db.json(`SELECT row_group_id, path_in_schema, compression, encodings, bloom_filter_offset FROM parquet_metadata(${sqlStr(file)})`);
  for (const r of rowsMeta) {
    if (want && r.compression !== want) problems.push(`rg ${r.row_group_id} ${r.path_in_schema}: DuckDB compression ${r.compression}, expected ${want}`);
  }
  for (const rg of meta.get('row_groups')) {
    for (const c of rg.get('columns')) {
      if (want && c.get('codec') !== want) problems.push(`${c.get('path')}: pqtool meta codec ${c.get('codec')}, expected ${want}`);
    }
  }
  const tenantEnc = rowsMeta.filter((r) => r.path_in_schema === 'tenant_id').map((r) => r.encodings);
  const dictEnc = (e) => /DICTIONARY/.test(e || '');
  if (cfg.dict === 'on' && !tenantEnc.every(dictEnc)) problems.push(`dict on but tenant_id (3 distinct values) encodings are ${tenantEnc.join(' / ')}`);
  if (cfg.dict === 'off') {
    const withDict = rowsMeta.filter((r) => dictEnc(r.encodings));
    if (withDict.length) problems.push(`dict off but ${withDict[0].path_in_schema} has encodings ${withDict[0].encodings}`);
  }
  if (cfg.rowGroupRows) {
    const sizes = metaRowGroups(meta);
    const expSizes = [];
    for (let left = Number(meta.get('num_rows')); left > 0; left -= cfg.rowGroupRows) expSizes.push(Math.min(left, cfg.rowGroupRows));
    if (sizes.join(',') !== expSizes.join(',')) problems.push(`row group sizes ${sizes.join(',')}, expected ${expSizes.join(',')} for --row-group-rows ${cfg.rowGroupRows}`);
  }
  return problems;
}

async function checkBloom(file, schema, rows, meta, cols) {
  const problems = [];
  const sizes = metaRowGroups(meta);
  const r = rng(5);
  const md = await db.json(`SELECT row_group_id, path_in_schema, bloom_filter_offset FROM parquet_metadata(${sqlStr(file)})`);
  const extra = new Set();
  for (const m of md) {
    const has = m.bloom_filter_offset !== null;
    if (cols.includes(m.path_in_schema) && !has) problems.push(`rg ${m.row_group_id} ${m.path_in_schema}: no bloom filter offset in the footer`);
    if (!cols.includes(m.path_in_schema) && has) extra.add(m.path_in_schema.split(', ').join('.'));
  }
  for (const rg of meta.get('row_groups')) {
    for (const c of rg.get('columns')) {
      const has = c.get('has_bloom_filter');
      if (cols.includes(c.get('path')) && has !== true) problems.push(`${c.get('path')}: pqtool meta has_bloom_filter ${show(has)}, expected true`);
      if (!cols.includes(c.get('path')) && has !== extra.has(c.get('path'))) problems.push(`${c.get('path')}: pqtool meta has_bloom_filter ${show(has)}, but DuckDB footer ${extra.has(c.get('path')) ? 'has' : 'has no'} bloom filter`);
    }
  }
  if (extra.size) diag(`note: bloom filters also on ${[...extra].join('; ')} (not asked for)`);
  // DuckDB 1.5.6 hashes BLOB probe values wrongly (it excludes values from its own files,
  // and `WHERE blob_col = x` then returns no rows), so binary/fixed bloom filters are
  // checked bit by bit in parquet_hyparquet.mjs instead.
  for (const col of cols.filter((c) => !['binary', 'fixed', 'uuid'].includes(kind(schema.fields.find((x) => x.name === c).type)))) {
    const f = schema.fields.find((x) => x.name === col);
    // present values: never excluded from a row group that holds them
    let start = 0;
    for (let g = 0; g < sizes.length; g++) {
      const part = rows.slice(start, start + sizes[g]).map((x) => x[col]).filter((v) => v !== null);
      start += sizes[g];
      for (const v of [...new Set(part)].slice(0, 8)) {
        const res = await db.json(`SELECT row_group_id, bloom_filter_excludes FROM parquet_bloom_probe(${sqlStr(file)}, '${col}', ${sqlValue(f.type, v)})`);
        const hit = res.find((x) => Number(x.row_group_id) === g);
        if (!hit || hit.bloom_filter_excludes) problems.push(`${col}=${show(v)}: bloom filter of rg ${g} excludes a value it holds`);
      }
    }
    // absent values: most probes should be excluded (false-positive rate is small)
    const present = new Set(rows.map((x) => (typeof x[col] === 'bigint' ? x[col].toString() : x[col])));
    let probes = 0;
    let excluded = 0;
    for (let i = 0; i < 20; i++) {
      let v;
      if (kind(f.type) === 'string') v = `absent-${i}-${r.int(0, 1e9)}`;
      else if (kind(f.type) === 'long') v = BigInt(r.int(1, 1e9)) * 7919n + 3n;
      else v = r.bytes(16).toString('hex');
      if (present.has(typeof v === 'bigint' ? v.toString() : v)) continue;
      const res = await db.json(`SELECT bloom_filter_excludes FROM parquet_bloom_probe(${sqlStr(file)}, '${col}', ${sqlValue(f.type, v)})`);
      for (const x of res) { probes++; if (x.bloom_filter_excludes) excluded++; }
    }
    if (excluded < probes * 0.8) problems.push(`${col}: only ${excluded} of ${probes} row-group probes for absent values were excluded by the bloom filter`);
  }
  return problems;
}

/** Predicate queries (DuckDB prunes with our statistics and bloom filters) give the right counts. */
async function checkPredicates(file, rows) {
  const problems = [];
  const r = rng(8);
  const q = async (where, pred, label) => {
    const got = Number((await db.json(`SELECT count(*) AS n FROM read_parquet(${sqlStr(file)}) WHERE ${where}`))[0].n);
    const exp = rows.filter(pred).length;
    if (got !== exp) problems.push(`${label}: DuckDB counted ${got}, expected ${exp}`);
  };
  for (let i = 0; i < 4; i++) {
    const row = rows[r.int(0, rows.length - 1)];
    if (row.i64 !== null) await q(`i64 = '${row.i64}'::BIGINT`, (x) => x.i64 === row.i64, `i64 = ${row.i64}`);
    if (row.s !== null) await q(`s = ${sqlStr(row.s)}`, (x) => x.s === row.s, `s = ${show(row.s)}`);
    // no `fx = from_hex(..)`: DuckDB 1.5.6 answers BLOB equality wrongly when a bloom filter exists
    if (row.fx !== null) await q(`hex(fx) = '${row.fx.toUpperCase()}'`, (x) => x.fx === row.fx, `hex(fx) = ${row.fx}`);
    await q(`epoch_us(tstz) >= '${row.tstz}'::BIGINT`, (x) => x.tstz >= row.tstz, `tstz >= ${row.tstz}`);
    if (row.d !== null) await q(`d < DATE '1970-01-01' + '${row.d}'::INTEGER`, (x) => x.d !== null && x.d < row.d, `d < ${row.d}`);
    if (row.f64 !== null && Number.isFinite(row.f64)) await q(`f64 > '${row.f64}'::DOUBLE AND NOT isnan(f64)`, (x) => x.f64 !== null && x.f64 > row.f64 && !Number.isNaN(x.f64), `f64 > ${row.f64}`);
  }
  await q(`tenant_id = 'globex'`, (x) => x.tenant_id === 'globex', 'tenant_id = globex');
  await q(`i64 = 9223372036854775807::BIGINT`, (x) => x.i64 === 2n ** 63n - 1n, 'i64 = INT64_MAX');
  await q(`i64 = '-9223372036854775808'::BIGINT`, (x) => x.i64 === -(2n ** 63n), 'i64 = INT64_MIN');
  await q(`s = ''`, (x) => x.s === '', "s = ''");
  await q(`s IS NULL`, (x) => x.s === null, 's IS NULL');
  await q(`attrs IS NULL`, (x) => x.attrs === null, 'attrs IS NULL');
  await q(`cardinality(attrs) = 0`, (x) => x.attrs !== null && x.attrs.length === 0, 'attrs empty');
  await q(`tags IS NULL`, (x) => x.tags === null, 'tags IS NULL');
  await q(`len(tags) = 0`, (x) => x.tags !== null && x.tags.length === 0, 'tags empty');
  await q(`isnan(f64)`, (x) => x.f64 !== null && Number.isNaN(x.f64), 'isnan(f64)');
  await q(`f64 = 'Infinity'::DOUBLE`, (x) => x.f64 === Infinity, 'f64 = +Inf');
  return problems;
}

// ---------------------------------------------------------------- matrix
const m = buildMatrix(tmp);
diag(`matrix: ${m.rows.length} rows x ${m.files.length} files in ${tmp}`);
for (const { cfg, file, error } of m.files) {
  const n = cfg.name;
  ok(!error, `pqtool write ${n}`, error);
  if (!file) continue;
  let meta = null;
  await test(`${n}: pqtool meta parses`, () => { meta = pqMeta(file); return []; });
  await test(`${n}: DuckDB read_parquet values equal the input`, () => checkDuckdbValues(db, file, m.schema, m.rows));
  await test(`${n}: parquet_schema field ids, repetition and types`, () => checkDuckdbSchema(db, file, m.schema));
  if (meta) {
    await test(`${n}: statistics (pqtool meta, DuckDB parquet_metadata) agree with the data`, () => checkStats(db, file, m.schema, m.rows, meta));
    await test(`${n}: codec, dictionary encodings, row-group sizes`, () => checkCodecs(file, cfg, meta));
    if (cfg.bloom) await test(`${n}: bloom filters on ${cfg.bloom.join(',')} (parquet_bloom_probe)`, () => checkBloom(file, m.schema, m.rows, meta, cfg.bloom));
  }
  await test(`${n}: predicate queries return the right counts`, () => checkPredicates(file, m.rows));
  await test(`${n}: pqtool cat equals the input`, () => checkCat(file, m.schema, m.rows));
}
const first = m.files.find((f) => f.file);
if (first) {
  await test('pqtool cat --columns projection (flat and nested)', () => checkCat(first.file, m.schema, m.rows, ['tstz', 'ev', 'attrs', 'fx', 'pt']));
}

// ---------------------------------------------------------------- edge cases
for (const c of buildEdgeFiles(tmp)) {
  ok(!c.error, `pqtool write edge ${c.name} (${c.note})`, c.error);
  if (!c.file) continue;
  await test(`edge ${c.name}: DuckDB values`, () => checkDuckdbValues(db, c.file, c.schema, c.rows));
  await test(`edge ${c.name}: parquet_schema`, () => checkDuckdbSchema(db, c.file, c.schema));
  await test(`edge ${c.name}: statistics`, async () => checkStats(db, c.file, c.schema, c.rows, pqMeta(c.file)));
  await test(`edge ${c.name}: pqtool cat`, () => checkCat(c.file, c.schema, c.rows));
}

// ---------------------------------------------------------------- bad input is refused
{
  const schema = { type: 'struct', fields: [
    { id: 1, name: 'r', required: true, type: 'string' },
    { id: 2, name: 'i', required: false, type: 'int' },
    { id: 3, name: 'l', required: false, type: 'long' },
    { id: 4, name: 'fx', required: false, type: 'fixed[4]' },
    { id: 5, name: 'bin', required: false, type: 'binary' },
    { id: 6, name: 'd', required: false, type: 'double' },
  ] };
  const schemaFile = path.join(tmp, 'bad.schema.json');
  fs.writeFileSync(schemaFile, JSON.stringify(schema));
  const good = '{"r":"x","i":1,"l":2,"fx":"00010203","bin":"ab","d":1.5}';
  const cases = [
    ['null in a required column', '{"r":null}'],
    ['required column missing', '{"i":1}'],
    ['int above INT32_MAX', '{"r":"x","i":2147483648}'],
    ['long above INT64_MAX', '{"r":"x","l":9223372036854775808}'],
    ['long below INT64_MIN', '{"r":"x","l":-9223372036854775809}'],
    ['fraction for a long', '{"r":"x","l":1.5}'],
    ['text for a long', '{"r":"x","l":"abc"}'],
    ['fixed[4] of 3 bytes', '{"r":"x","fx":"000102"}'],
    ['binary not hex', '{"r":"x","bin":"zz"}'],
    ['binary odd hex length', '{"r":"x","bin":"abc"}'],
    ['double as arbitrary text', '{"r":"x","d":"1.5x"}'],
    ['malformed JSON line', '{"r":"x",'],
  ];
  for (const [label, line] of cases) {
    await test(`pqtool write refuses bad input: ${label}`, () => {
      const inFile = path.join(tmp, 'bad.jsonl');
      const out = path.join(tmp, 'bad.parquet');
      fs.rmSync(out, { force: true });
      fs.writeFileSync(inFile, `${good}\n${line}\n`);
      const res = spawnSync(PQTOOL, ['write', schemaFile, inFile, out], { timeout: 60_000 });
      if (res.status === 0) return [`exit 0 for input line ${line}`];
      if (res.signal) return [`killed by ${res.signal}`];
      return [];
    });
  }
}

// ---------------------------------------------------------------- real log lines
{
  const { schema, rows } = corpusRows(Infinity); // every line of every corpus file
  const jsonl = path.join(tmp, 'corpus.jsonl');
  writeJsonl(jsonl, schema, rows);
  let file = null;
  await test(`pqtool write corpus logs (${rows.length} lines of corpus/logs/*.log)`, () => {
    file = pqWriteRows(tmp, 'corpus', schema, jsonl, { codec: 'zstd', rowGroupRows: 2000, bloom: ['trace_id'] });
    return [];
  });
  if (file) {
    await test('corpus logs: DuckDB values', () => checkDuckdbValues(db, file, schema, rows));
    await test('corpus logs: parquet_schema', () => checkDuckdbSchema(db, file, schema));
    await test('corpus logs: statistics', async () => checkStats(db, file, schema, rows, pqMeta(file)));
    await test('corpus logs: pqtool cat', () => checkCat(file, schema, rows));
    await test('corpus logs: bodies with CR kept byte for byte', async () => {
      const exp = rows.filter((x) => x.body.endsWith('\r')).length;
      const got = Number((await db.json(`SELECT count(*) AS n FROM read_parquet(${sqlStr(file)}) WHERE ends_with(body, chr(13))`))[0].n);
      return got === exp ? [] : [`bodies ending in CR: expected ${exp}, got ${got}`];
    });
  }
}

db.close();
done();

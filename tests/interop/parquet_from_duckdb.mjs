// Interop: Parquet files written by DuckDB (COPY ... TO ... (FORMAT parquet, ...)), read by
// IceGate's `pqtool cat` / `pqtool meta`. Every Iceberg primitive type plus DuckDB's other
// encodings of them (TINYINT/SMALLINT, TIMESTAMP_MS, TIMESTAMP_NS), nested structs, maps
// and lists, nulls; snappy/zstd/gzip/uncompressed, Parquet v1 and v2 pages (DELTA_*,
// BYTE_STREAM_SPLIT, RLE_DICTIONARY), small row groups, dictionary off. pqtool must print
// what DuckDB itself reads back (both normalised to the pqtool JSON mapping).
import path from 'node:path';
import { test, ok, diag, done, bail } from './lib/tap.mjs';
import { pqtoolExists, tempDir, loadDep } from './lib/env.mjs';
import { openDuckdb, sqlStr } from './lib/duckdb.mjs';
import { ALL_TYPES_SCHEMA, genRows, TENANTS } from './lib/gen.mjs';
import { corpusRows } from './lib/fixtures.mjs';
import { loadTable } from './lib/sqlgen.mjs';
import { duckdbFieldIds, duckdbType, leaves } from './lib/schema.mjs';
import { fromDuckdb, fromJson, compareRows } from './lib/values.mjs';
import { canonModelRows } from './lib/checks.mjs';
import { pqCat, pqMeta } from './lib/pqtool.mjs';
import { expectedStats, checkBound, boundFromJson } from './lib/stats.mjs';
import { show } from './lib/json.mjs';

if (!pqtoolExists()) bail('pqtool not built');
if (!(await loadDep('@duckdb/node-api').catch(() => null))) bail('@duckdb/node-api not installed (scripts/setup.sh)');

const tmp = tempDir('pq-from-duckdb');
const db = await openDuckdb(tmp);

// ALL_TYPES_SCHEMA plus DuckDB-only physical encodings of integers and timestamps, and deeper nesting.
const SCHEMA = {
  type: 'struct',
  fields: [
    ...ALL_TYPES_SCHEMA.fields,
    { id: 100, name: 'tiny', required: false, type: 'tinyint' },
    { id: 101, name: 'small', required: false, type: 'smallint' },
    { id: 102, name: 'ts_ms', required: false, type: 'timestamp_ms' },
    { id: 103, name: 'ts_ns', required: false, type: 'timestamp_ns' },
    { id: 104, name: 'lol', required: false, type: { type: 'list', 'element-id': 105, 'element-required': false, element: { type: 'list', 'element-id': 106, 'element-required': false, element: 'long' } } },
    { id: 107, name: 'mol', required: false, type: { type: 'map', 'key-id': 108, key: 'string', 'value-id': 109, 'value-required': false, value: { type: 'list', 'element-id': 110, 'element-required': false, element: 'int' } } },
    {
      id: 111, name: 'deep', required: false,
      type: { type: 'struct', fields: [
        { id: 112, name: 'inner', required: false, type: { type: 'struct', fields: [
          { id: 113, name: 'a', required: false, type: 'int' },
          { id: 114, name: 'b', required: false, type: { type: 'list', 'element-id': 115, 'element-required': false, element: 'string' } },
        ] } },
        { id: 116, name: 'flag', required: false, type: 'boolean' },
      ] },
    },
  ],
};
const COLS = SCHEMA.fields.map((f) => f.name);
const ROWS = 4500;

const VARIANTS = [
  { name: 'snappy-v1', opts: 'COMPRESSION snappy' },
  { name: 'zstd-v2-rg1024', opts: 'COMPRESSION zstd, PARQUET_VERSION v2, ROW_GROUP_SIZE 1024' },
  { name: 'gzip-v1-rg2048', opts: 'COMPRESSION gzip, ROW_GROUP_SIZE 2048' },
  { name: 'uncompressed-v2', opts: 'COMPRESSION uncompressed, PARQUET_VERSION v2' },
  { name: 'zstd9-v1-fieldids', opts: `COMPRESSION zstd, COMPRESSION_LEVEL 9, FIELD_IDS ${duckdbFieldIds(SCHEMA)}` },
  { name: 'snappy-v2-nodict', opts: 'COMPRESSION snappy, PARQUET_VERSION v2, DICTIONARY_SIZE_LIMIT 1, STRING_DICTIONARY_PAGE_SIZE_LIMIT 1' },
  { name: 'zstd-v1-nodict-rg1024', opts: 'COMPRESSION zstd, DICTIONARY_SIZE_LIMIT 1, STRING_DICTIONARY_PAGE_SIZE_LIMIT 1, ROW_GROUP_SIZE 1024' },
];

const rows = genRows(SCHEMA, ROWS, 4242, { override: { tenant_id: (i, r) => r.pick(TENANTS) } });
let loaded = false;
await test(`DuckDB loads ${ROWS} generated rows`, async () => { await loadTable(db, 't', SCHEMA, rows); loaded = true; return []; }, { timeoutMs: 600_000 });
if (!loaded) done();

/** Canonical rows DuckDB reads from a file. */
async function duckRows(file, schema) {
  const got = await db.rows(`SELECT * FROM read_parquet(${sqlStr(file)})`);
  return got.map((r) => Object.fromEntries(schema.fields.map((f) => [f.name, fromDuckdb(f.type, r[f.name])])));
}

/** Canonical rows pqtool cat prints. */
function catRows(file, schema, columns) {
  const cols = columns || schema.fields.map((f) => f.name);
  return pqCat(file, columns).map((m) => Object.fromEntries(cols.map((c) => [c, fromJson(schema.fields.find((f) => f.name === c).type, m.get(c))])));
}

/** pqtool meta on a foreign file: rows, row groups, physical types, codecs, flat-column bounds. */
async function checkMeta(file, schema, modelRows, codec) {
  const problems = [];
  const meta = pqMeta(file);
  const duck = await db.json(`SELECT row_group_id, row_group_num_rows, path_in_schema, type, compression FROM parquet_metadata(${sqlStr(file)}) ORDER BY row_group_id, column_id`);
  const rgSizes = [];
  for (const d of duck) rgSizes[Number(d.row_group_id)] = Number(d.row_group_num_rows);
  if (Number(meta.get('num_rows')) !== modelRows.length) problems.push(`num_rows ${meta.get('num_rows')}, expected ${modelRows.length}`);
  const got = (meta.get('row_groups') || []).map((g) => Number(g.get('num_rows')));
  if (got.join(',') !== rgSizes.join(',')) problems.push(`row groups ${got.join(',')}, DuckDB says ${rgSizes.join(',')}`);
  const exp = expectedStats(schema, modelRows, rgSizes);
  const leafTypes = new Map(leaves(schema).map((l) => [l.path.join('.'), l]));
  (meta.get('row_groups') || []).forEach((g, i) => {
    for (const c of g.get('columns') || []) {
      const p = c.get('path');
      const leaf = leafTypes.get(p);
      if (!leaf) { problems.push(`rg ${i}: unknown column path ${show(p)}`); continue; }
      const d = duck.find((x) => Number(x.row_group_id) === i && x.path_in_schema.split(', ').join('.') === p);
      if (d && c.get('physical_type') !== d.type) problems.push(`rg ${i} ${p}: physical_type ${c.get('physical_type')}, DuckDB says ${d.type}`);
      if (d && c.get('codec') !== d.compression) problems.push(`rg ${i} ${p}: codec ${c.get('codec')}, DuckDB says ${d.compression}`);
      if (!leaf.flat) continue;
      const e = exp[i].get(p);
      for (const which of ['min', 'max']) {
        // DuckDB may leave bounds out; when pqtool reports one it must be right
        const b = boundFromJson(e.type, c.get(which));
        if (b === null || b === undefined) continue;
        const err = checkBound(e.type, which, e[which], b, e.hasNaN);
        if (err) problems.push(`rg ${i} ${p}: ${err}`);
      }
      const nc = c.get('null_count');
      if (nc !== null && nc !== undefined && Number(nc) !== e.nullCount) problems.push(`rg ${i} ${p}: null_count ${nc}, expected ${e.nullCount}`);
    }
  });
  return problems;
}

for (const v of VARIANTS) {
  const file = path.join(tmp, `${v.name}.parquet`);
  let written = false;
  await test(`DuckDB COPY ${v.name} (${v.opts.slice(0, 80)})`, async () => {
    await db.run(`COPY (SELECT * FROM t) TO ${sqlStr(file)} (FORMAT parquet, ${v.opts})`);
    written = true;
    const enc = await db.json(`SELECT count(DISTINCT row_group_id) AS rgs, string_agg(DISTINCT encodings, ' | ') AS enc FROM parquet_metadata(${sqlStr(file)})`);
    diag(`${v.name}: ${enc[0].rgs} row groups, encodings ${enc[0].enc}`);
    return [];
  });
  if (!written) continue;
  let duck = null;
  await test(`${v.name}: DuckDB reads back its own file (harness check)`, async () => {
    duck = await duckRows(file, SCHEMA);
    return compareRows(canonModelRows(SCHEMA, rows), duck, COLS, []);
  });
  if (!duck) continue;
  await test(`${v.name}: pqtool cat prints what DuckDB reads`, () => compareRows(duck, catRows(file, SCHEMA), COLS, []));
  await test(`${v.name}: pqtool cat --columns (nested and flat projection)`, () => {
    const cols = ['deep', 'ev', 'ts_ns', 'u', 'mol'];
    const got = catRows(file, SCHEMA, cols);
    return compareRows(duck.map((r) => Object.fromEntries(cols.map((c) => [c, r[c]]))), got, cols, []);
  });
  await test(`${v.name}: pqtool meta (row groups, types, codecs, bounds)`, () => checkMeta(file, SCHEMA, rows));
}

// Real log lines, as DuckDB writes them (zstd, v2), through pqtool cat.
{
  const { schema, rows: crow } = corpusRows(300);
  const file = path.join(tmp, 'corpus.parquet');
  let ready = false;
  await test(`DuckDB writes ${crow.length} corpus log lines`, async () => {
    await loadTable(db, 'c', schema, crow);
    await db.run(`COPY (SELECT * FROM c) TO ${sqlStr(file)} (FORMAT parquet, COMPRESSION zstd, PARQUET_VERSION v2, ROW_GROUP_SIZE 2048, FIELD_IDS ${duckdbFieldIds(schema)})`);
    ready = true;
    return [];
  });
  if (ready) {
    await test('corpus logs: pqtool cat prints what DuckDB reads', async () => {
      const duck = await duckRows(file, schema);
      const cols = schema.fields.map((f) => f.name);
      const p = compareRows(canonModelRows(schema, crow), duck, cols, []);
      if (p.length) return ['harness: DuckDB differs from the input:', ...p];
      return compareRows(duck, catRows(file, schema), cols, []);
    });
  }
}

// An empty file and an all-null file.
await test('empty DuckDB file (0 rows): pqtool cat prints nothing, meta num_rows 0', async () => {
  const file = path.join(tmp, 'empty.parquet');
  await db.run(`COPY (SELECT * FROM t LIMIT 0) TO ${sqlStr(file)} (FORMAT parquet)`);
  const p = [];
  const got = pqCat(file);
  if (got.length) p.push(`cat printed ${got.length} rows`);
  const meta = pqMeta(file);
  if (Number(meta.get('num_rows')) !== 0) p.push(`meta num_rows ${meta.get('num_rows')}`);
  return p;
});
await test('all-null columns: pqtool cat prints nulls', async () => {
  const file = path.join(tmp, 'nulls.parquet');
  const select = SCHEMA.fields.map((f) => (f.required ? `"${f.name}"` : `CAST(NULL AS ${duckdbType(f.type)}) AS "${f.name}"`)).join(', ');
  await db.run(`COPY (SELECT ${select} FROM t LIMIT 100) TO ${sqlStr(file)} (FORMAT parquet, PARQUET_VERSION v2)`);
  const duck = await duckRows(file, SCHEMA);
  return compareRows(duck, catRows(file, SCHEMA), COLS, []);
});

db.close();
done();

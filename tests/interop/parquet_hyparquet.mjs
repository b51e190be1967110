// Interop: Parquet files written by IceGate's pqtool, read by hyparquet (+hyparquet-compressors),
// an independent pure-JS reader. Same files as parquet_duckdb.mjs (lib/fixtures.mjs): values
// value-for-value, field_id / repetition / converted and logical types in hyparquet's schema,
// statistics of flat columns, and filtered reads using bloom filters and page indexes.
import fs from 'node:fs';
import path from 'node:path';
import { test, ok, diag, done, bail } from './lib/tap.mjs';
import { pqtoolExists, tempDir, loadDep } from './lib/env.mjs';
import { buildMatrix, buildEdgeFiles, corpusRows } from './lib/fixtures.mjs';
import { writeJsonl } from './lib/gen.mjs';
import { pqWriteRows } from './lib/pqtool.mjs';
import { canonModelRows } from './lib/checks.mjs';
import { parquetElements, leaves, kind } from './lib/schema.mjs';
import { fromHyparquet, compareRows, HYPARQUET_PARSERS } from './lib/values.mjs';
import { expectedStats, checkBound, maxUntruncatable } from './lib/stats.mjs';
import { show } from './lib/json.mjs';

if (!pqtoolExists()) bail('pqtool not built');
const hyparquet = await loadDep('hyparquet').catch(() => null);
const hc = await loadDep('hyparquet-compressors').catch(() => null);
if (!hyparquet || !hc) bail('hyparquet / hyparquet-compressors not installed (scripts/setup.sh)');
const { compressors } = hc;

const tmp = tempDir('pq-hyparquet');
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true, fatal: false });
const PARSERS = { ...HYPARQUET_PARSERS, stringFromBytes: (b) => (b ? utf8.decode(b) : b) };
// statistics: keep the raw bytes of BYTE_ARRAY bounds (binary columns share the parser)
const STAT_PARSERS = { ...HYPARQUET_PARSERS, stringFromBytes: (b) => (b ? { raw: Buffer.from(b) } : b) };

async function open(file) {
  const buf = await hyparquet.asyncBufferFromFile(file);
  return buf;
}

async function checkValues(file, schema, rows) {
  const problems = [];
  const got = await hyparquet.parquetReadObjects({ file: await open(file), compressors, utf8: false, parsers: PARSERS });
  const canon = got.map((r) => Object.fromEntries(schema.fields.map((f) => [f.name, fromHyparquet(f.type, r[f.name])])));
  return compareRows(canonModelRows(schema, rows), canon, schema.fields.map((f) => f.name), problems);
}

const notes = new Set();
function note(msg) {
  if (!notes.has(msg)) diag(`note: ${msg}`);
  notes.add(msg);
}

async function checkSchema(file, schema) {
  const problems = [];
  const md = await hyparquet.parquetMetadataAsync(await open(file), { parsers: STAT_PARSERS });
  const got = md.schema;
  const exp = parquetElements(schema);
  if (got.length !== exp.length) problems.push(`element count: expected ${exp.length}, got ${got.length}`);
  for (let i = 1; i < Math.min(got.length, exp.length); i++) {
    const e = exp[i];
    const g = got[i];
    const where = `element ${i} (${e.path.join('.')})`;
    if (g.name !== e.name) problems.push(`${where}: name ${show(g.name)}, expected ${show(e.name)}`);
    if (g.repetition_type !== e.repetition) problems.push(`${where}: repetition ${g.repetition_type}, expected ${e.repetition}`);
    if ((g.field_id ?? null) !== e.fieldId) problems.push(`${where}: field_id ${g.field_id}, expected ${e.fieldId}`);
    if (e.numChildren && g.num_children !== e.numChildren) problems.push(`${where}: num_children ${g.num_children}, expected ${e.numChildren}`);
    if (!e.numChildren && g.type !== e.physical) problems.push(`${where}: type ${g.type}, expected ${e.physical}`);
    if (e.typeLength !== null && e.typeLength !== undefined && g.type_length !== e.typeLength) problems.push(`${where}: type_length ${g.type_length}, expected ${e.typeLength}`);
    if (e.converted !== undefined && (g.converted_type ?? null) !== e.converted) problems.push(`${where}: converted_type ${g.converted_type}, expected ${e.converted}`);
    const lt = g.logical_type;
    if (e.logical === 'UUID') {
      if (lt?.type !== e.logical) problems.push(`${where}: logical_type ${show(lt)}, expected ${e.logical}`);
    } else if (e.logical === 'STRING' || e.logical === 'DATE') {
      // the converted type (checked above) is enough for readers; Java writes both
      if (lt && lt.type !== e.logical) problems.push(`${where}: logical_type ${show(lt)}, expected ${e.logical}`);
      if (!lt) note(`${e.path.join('.')}: no ${e.logical} logical type (converted_type ${g.converted_type} only)`);
    } else if (e.logical === 'TIMESTAMP') {
      if (lt?.type !== 'TIMESTAMP' || lt.isAdjustedToUTC !== e.utc || lt.unit !== 'MICROS') problems.push(`${where}: logical_type ${show(lt)}, expected TIMESTAMP(isAdjustedToUTC=${e.utc}, MICROS)`);
    } else if (e.logical === 'LIST' || e.logical === 'MAP') {
      // Java writes both; a converted type alone is readable, so only a wrong logical type fails
      if (lt && lt.type !== e.logical) problems.push(`${where}: logical_type ${show(lt)}, expected ${e.logical}`);
      if (!lt) note(`${e.path.join('.')}: no ${e.logical} logical type (converted_type ${g.converted_type} only)`);
    } else if (lt && !(e.numChildren === 0 && lt.type === 'INTEGER')) {
      problems.push(`${where}: unexpected logical_type ${show(lt)}`);
    }
  }
  return problems;
}

function statBound(t, v) {
  if (v === undefined || v === null) return v;
  const k = kind(t);
  if (v && v.raw) {
    if (k === 'string') {
      const s = v.raw.toString('utf8');
      return Buffer.from(s, 'utf8').equals(v.raw) ? s : { invalidUtf8: v.raw.toString('hex') };
    }
    return v.raw.toString('hex');
  }
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  if (v && v.us !== undefined) return v.us;
  if (v && v.days !== undefined) return BigInt(v.days);
  if (typeof v === 'string' && (k === 'uuid')) return v.replace(/-/g, '');
  if (typeof v === 'number' && (k === 'int')) return BigInt(v);
  return v;
}

async function checkStatsHy(file, schema, rows) {
  const problems = [];
  const md = await hyparquet.parquetMetadataAsync(await open(file), { parsers: STAT_PARSERS });
  const sizes = md.row_groups.map((rg) => Number(rg.num_rows));
  if (Number(md.num_rows) !== rows.length) problems.push(`num_rows ${md.num_rows}, expected ${rows.length}`);
  const exp = expectedStats(schema, rows, sizes);
  const flat = new Set(leaves(schema).filter((l) => l.flat).map((l) => l.path.join('.')));
  md.row_groups.forEach((rg, i) => {
    for (const col of rg.columns) {
      const p = col.meta_data.path_in_schema.join('.');
      const e = exp[i].get(p);
      if (!e) { problems.push(`rg ${i}: unexpected column ${p}`); continue; }
      const st = col.meta_data.statistics;
      if (!st) { problems.push(`rg ${i} ${p}: no statistics`); continue; }
      const dropped = maxUntruncatable(e.type, e.max) && st.min_value === undefined && st.max_value === undefined;
      for (const which of dropped ? [] : ['min', 'max']) {
        const b = statBound(e.type, st[`${which}_value`]);
        if (b && b.invalidUtf8) {
          if (e[which] !== undefined && Buffer.from(e[which], 'utf8').length <= 64) problems.push(`rg ${i} ${p}: ${which} is not valid UTF-8 (${b.invalidUtf8})`);
          continue;
        }
        const err = checkBound(e.type, which, e[which], b, e.hasNaN);
        if (err) problems.push(`rg ${i} ${p}: ${err}`);
      }
      if (flat.has(p) && (st.null_count === undefined || Number(st.null_count) !== e.nullCount)) problems.push(`rg ${i} ${p}: null_count ${st.null_count}, expected ${e.nullCount}`);
      if (Number(col.meta_data.num_values) < e.count + (e.nullCount || 0)) problems.push(`rg ${i} ${p}: num_values ${col.meta_data.num_values} < ${e.count + (e.nullCount || 0)} values`);
    }
  });
  return problems;
}

/** Filtered reads that use bloom filters and page indexes return exactly the matching rows. */
async function checkFiltered(file, schema, rows) {
  const problems = [];
  const file_ = await open(file);
  const metadata = await hyparquet.parquetMetadataAsync(file_, { parsers: PARSERS });
  const picks = [rows[3], rows[Math.floor(rows.length / 2)], rows[rows.length - 1]].filter(Boolean);
  const cases = [];
  for (const r of picks) {
    if (r.s !== null && r.s !== undefined) cases.push({ col: 's', v: r.s });
    if (r.i64 !== null && r.i64 !== undefined) cases.push({ col: 'i64', v: r.i64 });
    if (r.tenant_id !== undefined) cases.push({ col: 'tenant_id', v: r.tenant_id });
  }
  cases.push({ col: 's', v: 'certainly-absent-value' });
  for (const { col, v } of cases) {
    for (const opts of [{ useBloomFilters: true }, { usePageIndex: true }]) {
      const got = await hyparquet.parquetReadObjects({ file: file_, metadata, compressors, utf8: false, parsers: PARSERS, columns: [col, 'r_i64'], filter: { [col]: { $eq: v } }, ...opts });
      const exp = rows.filter((r) => r[col] === v).map((r) => r.r_i64.toString());
      const g = got.map((r) => String(r.r_i64));
      if (exp.join(',') !== g.join(',')) problems.push(`${col} = ${show(v)} with ${Object.keys(opts)[0]}: expected ${exp.length} rows, got ${g.length}`);
    }
  }
  return problems;
}

/**
 * Bloom filters bit by bit (spec: xxHash64 of the PLAIN bytes, no length prefix for byte
 * arrays): every value of a row group is in its filter; most absent values are not.
 */
async function checkBloomBits(file, schema, rows, cols) {
  const problems = [];
  const bloom = await loadDep('hyparquet/src/bloom.js');
  const { xxhash64 } = await loadDep('hyparquet/src/xxhash.js');
  const buf = fs.readFileSync(file);
  const u8 = new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
  const md = hyparquet.parquetMetadata(u8);
  const plain = (t, v) => {
    const k = kind(t);
    if (k === 'string') return new Uint8Array(Buffer.from(v, 'utf8'));
    if (k === 'long') { const b = Buffer.alloc(8); b.writeBigInt64LE(v); return new Uint8Array(b); }
    if (k === 'int') { const b = Buffer.alloc(4); b.writeInt32LE(Number(v)); return new Uint8Array(b); }
    return new Uint8Array(Buffer.from(v, 'hex'));
  };
  let start = 0;
  let absentProbes = 0;
  let absentHits = 0;
  md.row_groups.forEach((rg, g) => {
    const part = rows.slice(start, start + Number(rg.num_rows));
    start += Number(rg.num_rows);
    for (const col of cols) {
      const f = schema.fields.find((x) => x.name === col);
      const cc = rg.columns.find((c) => c.meta_data.path_in_schema.join('.') === col);
      if (!cc || cc.meta_data.bloom_filter_offset === undefined) { problems.push(`rg ${g} ${col}: no bloom_filter_offset`); continue; }
      const bf = bloom.readBloomFilter({ view: new DataView(u8.buffer, u8.byteOffset, u8.byteLength), offset: Number(cc.meta_data.bloom_filter_offset) });
      if (!bf) { problems.push(`rg ${g} ${col}: bloom filter header not readable (algorithm/hash/compression)`); continue; }
      if (cc.meta_data.bloom_filter_length !== undefined && Number(cc.meta_data.bloom_filter_length) < bf.numBytes) problems.push(`rg ${g} ${col}: bloom_filter_length ${cc.meta_data.bloom_filter_length} < ${bf.numBytes} bitset bytes`);
      const present = new Set();
      for (const r of part) {
        const v = r[col];
        if (v === null) continue;
        present.add(typeof v === 'bigint' ? v.toString() : v);
        if (!bloom.sbbfContains(bf.blocks, xxhash64(plain(f.type, v)))) {
          problems.push(`rg ${g} ${col}=${show(v)}: missing from the bloom filter`);
          if (problems.length > 20) return;
        }
      }
      for (let i = 0; i < 50; i++) {
        const v = kind(f.type) === 'string' ? `absent-${g}-${i}` : kind(f.type) === 'long' ? BigInt(i) * 1000003n + 77n : Buffer.alloc(16, i + 1).toString('hex');
        if (present.has(typeof v === 'bigint' ? v.toString() : v)) continue;
        absentProbes++;
        if (bloom.sbbfContains(bf.blocks, xxhash64(plain(f.type, v)))) absentHits++;
      }
    }
  });
  if (absentHits > absentProbes * 0.2) problems.push(`bloom filters pass ${absentHits} of ${absentProbes} absent values (false-positive rate too high)`);
  return problems;
}

// ---------------------------------------------------------------- matrix
const m = buildMatrix(tmp);
diag(`matrix: ${m.rows.length} rows x ${m.files.length} files in ${tmp}`);
for (const { cfg, file, error } of m.files) {
  ok(!error, `pqtool write ${cfg.name}`, error);
  if (!file) continue;
  await test(`${cfg.name}: hyparquet values equal the input`, () => checkValues(file, m.schema, m.rows));
  await test(`${cfg.name}: hyparquet schema field_id, repetition, converted and logical types`, () => checkSchema(file, m.schema));
  await test(`${cfg.name}: hyparquet statistics agree with the data`, () => checkStatsHy(file, m.schema, m.rows));
  await test(`${cfg.name}: filtered reads with bloom filters / page indexes`, () => checkFiltered(file, m.schema, m.rows));
  if (cfg.bloom) await test(`${cfg.name}: bloom filter bits for ${cfg.bloom.join(',')} (xxHash64 of PLAIN bytes)`, () => checkBloomBits(file, m.schema, m.rows, cfg.bloom));
}

// ---------------------------------------------------------------- edge cases
for (const c of buildEdgeFiles(tmp)) {
  ok(!c.error, `pqtool write edge ${c.name} (${c.note})`, c.error);
  if (!c.file) continue;
  await test(`edge ${c.name}: hyparquet values`, () => checkValues(c.file, c.schema, c.rows));
  await test(`edge ${c.name}: hyparquet schema`, () => checkSchema(c.file, c.schema));
  if (c.rows.length) await test(`edge ${c.name}: hyparquet statistics`, () => checkStatsHy(c.file, c.schema, c.rows));
}

// ---------------------------------------------------------------- real log lines
{
  const { schema, rows } = corpusRows(400);
  const jsonl = path.join(tmp, 'corpus.jsonl');
  writeJsonl(jsonl, schema, rows);
  let file = null;
  await test(`pqtool write corpus logs (${rows.length} lines)`, () => {
    file = pqWriteRows(tmp, 'corpus', schema, jsonl, { codec: 'snappy', rowGroupRows: 1500, pageVersion: 2, bloom: ['trace_id', 'service_name'] });
    return [];
  });
  if (file) {
    await test('corpus logs: hyparquet values', () => checkValues(file, schema, rows));
    await test('corpus logs: hyparquet schema', () => checkSchema(file, schema));
    await test('corpus logs: hyparquet statistics', () => checkStatsHy(file, schema, rows));
    await test('corpus logs: bloom filter bits for trace_id (fixed[16]) and service_name', () => checkBloomBits(file, schema, rows, ['trace_id', 'service_name']));
    diag(`corpus file: ${fs.statSync(file).size} bytes for ${rows.length} rows`);
  }
}

done();

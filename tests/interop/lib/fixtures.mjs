// The pqtool-written files that parquet_duckdb.mjs and parquet_hyparquet.mjs both read:
// ALL_TYPES_SCHEMA rows written with every codec, page v1/v2, dictionary on/off,
// several row groups and pages, bloom filters; plus edge-case files.
import fs from 'node:fs';
import path from 'node:path';
import { ALL_TYPES_SCHEMA, allTypesRows, genRows, writeJsonl, LOGS_SCHEMA, rng } from './gen.mjs';
import { pqWriteRows } from './pqtool.mjs';
import { SHARED } from './env.mjs';

export const MATRIX_ROWS = 1500;
export const RG_ROWS = 400;
export const PAGE_ROWS = 100;
export const BLOOM_COLS = ['tenant_id', 's', 'i64', 'fx'];

export function matrixConfigs() {
  const out = [];
  for (const codec of ['zstd', 'snappy', 'gzip', 'none']) {
    for (const pageVersion of [1, 2]) {
      for (const dict of ['on', 'off']) {
        out.push({ name: `${codec}-v${pageVersion}-dict${dict}`, codec, pageVersion, dict, rowGroupRows: RG_ROWS, pageRows: PAGE_ROWS, bloom: BLOOM_COLS });
      }
    }
  }
  // defaults only (one row group, writer's own page size), and a high zstd level
  out.push({ name: 'defaults' });
  out.push({ name: 'zstd-level19', codec: 'zstd', level: 19, rowGroupRows: 1000 });
  return out;
}

/**
 * Builds the matrix into dir. Returns {schema, rows, files: [{cfg, file|null, error|null}]}.
 * The JSONL input is written once and shared by all configurations.
 */
export function buildMatrix(dir) {
  const schema = ALL_TYPES_SCHEMA;
  const rows = allTypesRows(MATRIX_ROWS, 20240601);
  const jsonl = path.join(dir, 'all_types.jsonl');
  writeJsonl(jsonl, schema, rows);
  const files = [];
  for (const cfg of matrixConfigs()) {
    try {
      files.push({ cfg, file: pqWriteRows(dir, cfg.name, schema, jsonl, cfg), error: null });
    } catch (e) {
      files.push({ cfg, file: null, error: e.message });
    }
  }
  return { schema, rows, files };
}

const nullAll = (schema) => Object.fromEntries(schema.fields.filter((f) => !f.required).map((f) => [f.name, () => null]));

/**
 * Edge-case files: {name, schema, rows, file|null, error|null, note}. Each is written with
 * zstd, page v2 unless stated.
 */
export function buildEdgeFiles(dir) {
  const cases = [];
  const add = (name, schema, rows, opts = {}, note = '', inputOpts = {}) => {
    const jsonl = path.join(dir, `${name}.jsonl`);
    writeJsonl(jsonl, schema, rows, inputOpts);
    let file = null;
    let error = null;
    try {
      file = pqWriteRows(dir, name, schema, jsonl, { codec: 'zstd', ...opts });
    } catch (e) {
      error = e.message;
    }
    cases.push({ name, schema, rows, file, error, note });
  };
  const S = ALL_TYPES_SCHEMA;
  add('empty', S, [], {}, 'zero rows');
  add('one-row', S, allTypesRows(1, 7), {}, 'a single row');
  add('all-null', S, genRows(S, 300, 11, { override: { ...nullAll(S), tenant_id: () => 'acme' } }), { rowGroupRows: 100 }, 'every optional column null (stats without min/max)');
  add('int-strings', S, allTypesRows(200, 13), {}, 'int/long inputs given as JSON strings', { intStrings: true });
  add('nan-only', { type: 'struct', fields: [
    { id: 1, name: 'f32', required: false, type: 'float' },
    { id: 2, name: 'f64', required: false, type: 'double' },
  ] }, Array.from({ length: 50 }, (_, i) => ({ f32: i % 3 ? NaN : null, f64: i % 2 ? NaN : null })), {}, 'NaN and null only: no float bounds');
  add('signed-zero', { type: 'struct', fields: [
    { id: 1, name: 'f32', required: false, type: 'float' },
    { id: 2, name: 'f64', required: true, type: 'double' },
  ] }, [0, -0, 1.5, -0, 0, -2.25].map((x) => ({ f32: x, f64: x })), { pageVersion: 1 }, '-0.0 keeps its sign');
  // strings whose truncated max cannot be incremented (all U+10FFFF / 0xff), > 64 bytes
  add('max-bound-strings', { type: 'struct', fields: [
    { id: 1, name: 's', required: true, type: 'string' },
    { id: 2, name: 'bin', required: true, type: 'binary' },
  ] }, [
    { s: '\u{10FFFF}'.repeat(40), bin: 'ff'.repeat(100) },
    { s: 'a'.repeat(100), bin: '00'.repeat(100) },
    { s: `${'\u{10FFFF}'.repeat(20)}b`, bin: `${'ff'.repeat(70)}00` },
  ], {}, 'bounds of long strings with no larger prefix');
  // high-cardinality long strings: a dictionary that outgrows any sane limit (fallback to plain mid-chunk)
  {
    const r = rng(23);
    const rowsD = [];
    for (let i = 0; i < 20000; i++) {
      rowsD.push({ s: `${i}-${r.bytes(60).toString('base64')}-${'é'.repeat(i % 7)}`, k: BigInt.asIntN(64, r.u64()), low: ['a', 'b', 'c'][i % 3] });
    }
    add('dict-overflow', { type: 'struct', fields: [
      { id: 1, name: 's', required: true, type: 'string' },
      { id: 2, name: 'k', required: false, type: 'long' },
      { id: 3, name: 'low', required: false, type: 'string' },
    ] }, rowsD, { dict: 'on', rowGroupRows: 20000, pageVersion: 1 }, '20000 distinct 90-byte strings and int64s in one row group, dictionary on');
  }
  // values far larger than any page: 3 MB strings, 1 MB binary, a 100k-element list
  {
    const r = rng(29);
    const big = (n) => { let x = ''; while (x.length < n) x += `${r.bytes(48).toString('base64')}é😀`; return x.slice(0, n); };
    const rowsH = [
      { s: big(3_000_000), bin: r.bytes(1_000_000).toString('hex'), l: Array.from({ length: 100_000 }, (_, i) => BigInt(i) * 3n - 7n) },
      { s: '', bin: '', l: [] },
      { s: big(70_000), bin: null, l: null },
    ];
    add('huge-values', { type: 'struct', fields: [
      { id: 1, name: 's', required: false, type: 'string' },
      { id: 2, name: 'bin', required: false, type: 'binary' },
      { id: 3, name: 'l', required: false, type: { type: 'list', 'element-id': 4, 'element-required': true, element: 'long' } },
    ] }, rowsH, { pageVersion: 2 }, 'a 3 MB string, a 1 MB binary, a 100k-element list');
  }
  add('wide-page', S, allTypesRows(2500, 17), { pageVersion: 1, dict: 'on', rowGroupRows: 2500 }, 'one large row group, writer-chosen page size');
  return cases;
}

/** Corpus lines as logs-shaped rows (each file a service; bodies verbatim incl. \r). */
export function corpusRows(maxPerFile = 400) {
  const dir = path.join(SHARED, 'corpus', 'logs');
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.log')).sort();
  const rows = [];
  const r = rng(99);
  let ts = 1717200000000000n;
  for (const f of files) {
    const lines = fs.readFileSync(path.join(dir, f), 'utf8').split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    const service = f.replace(/\.log$/, '');
    for (let i = 0; i < Math.min(lines.length, maxPerFile); i++) {
      ts += BigInt(r.int(1, 5000));
      const body = lines[i];
      rows.push({
        tenant_id: r.pick(['acme', 'globex']),
        account_id: r() < 0.5 ? null : 'acct-1',
        service_name: service,
        timestamp: ts,
        observed_timestamp: r() < 0.2 ? null : ts + 17n,
        trace_id: r() < 0.3 ? null : r.bytes(16).toString('hex'),
        span_id: r() < 0.3 ? null : r.bytes(8).toString('hex'),
        severity_number: BigInt(r.pick([1, 5, 9, 13, 17, 21])),
        severity_text: r.pick(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL']),
        body,
        line_no: BigInt(i + 1),
        resource_attributes: [['service.name', service], ['host.name', `host-${r.int(1, 4)}`]],
        attributes: r() < 0.3 ? [] : [['log.file.name', f], ['http.status_code', String(r.pick([200, 404, 500]))]],
      });
    }
  }
  return { schema: LOGS_SCHEMA, rows };
}

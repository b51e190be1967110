// Deterministic test data in the "model" form of values.mjs (BigInt ints, Number floats,
// hex bytes, [k,v] map entries, structs as objects), plus the schemas the tests use.
import fs from 'node:fs';
import { kind, fixedLen } from './schema.mjs';
import { toInputJson } from './values.mjs';
import { stringifyJson } from './json.mjs';

export function rng(seed) {
  // mulberry32
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  next.int = (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)); // inclusive
  next.pick = (arr) => arr[Math.floor(next() * arr.length)];
  next.u64 = () => (BigInt(Math.floor(next() * 2 ** 32)) << 32n) | BigInt(Math.floor(next() * 2 ** 32));
  next.bytes = (n) => { const b = Buffer.alloc(n); for (let i = 0; i < n; i++) b[i] = Math.floor(next() * 256); return b; };
  return next;
}

export const I64_MIN = -(2n ** 63n);
export const I64_MAX = 2n ** 63n - 1n;
const LONG_EDGES = [I64_MIN, I64_MAX, I64_MIN + 1n, I64_MAX - 1n, 0n, -1n, 1n, 2n ** 53n + 1n, -(2n ** 53n) - 1n, 2n ** 31n, -(2n ** 31n) - 1n];
const INT_EDGES = [-2147483648n, 2147483647n, 0n, -1n, 1n, 32767n, -32768n];
const TS_LO = -2208988800000000n; // 1900-01-01
const TS_HI = 4102444800000000n; // 2100-01-01

const UNICODE = ['é', 'ü', 'ß', '日本語', 'Ελληνικά', 'العربية', 'עברית', '😀', '👩‍💻', '\u0301', '\u00a0', '\ufeff', '\u2028', '𝄞', '\t', '\n', '"', '\\', '/', '\u0001', '\u001f', '\u007f', '\r\n'];
const WORDS = ['GET', 'POST', 'error', 'warn', 'info', 'connection', 'refused', 'user', 'id=42', 'latency_ms=17', 'ok', 'timeout', '{"k":1}', 'a=b c=d'];
export const MAP_KEYS = ['service.name', 'http.method', 'http.status_code', 'k8s.pod.name', 'host', 'level', 'ключ', 'clé', '键', 'a b', 'x-y', '', 'very.long.attribute.key.that.keeps.going.on.and.on.beyond.sixty.four.bytes.total'];

/** A string with a mix of the cases that matter: empty, unicode, control chars, long (>64 bytes). */
export function genString(r, opts) {
  const s = genStringRaw(r, opts);
  // A leading U+FEFF is dropped by TextDecoder (DuckDB node-api, hyparquet), not by the
  // writer under test: keep BOMs inside strings only.
  return s.startsWith('\ufeff') ? `x${s}` : s;
}

function genStringRaw(r, { longPrefix = 'shared-prefix-for-statistics-truncation-tests-0123456789abcdefghij' } = {}) {
  const p = r();
  if (p < 0.05) return '';
  if (p < 0.15) {
    // long strings sharing a >64-byte prefix, so truncated min/max bounds are exercised
    let s = longPrefix;
    const n = r.int(1, 200);
    for (let i = 0; i < n; i++) s += r() < 0.2 ? r.pick(UNICODE) : String.fromCharCode(r.int(97, 122));
    return s;
  }
  if (p < 0.35) {
    let s = '';
    const n = r.int(1, 8);
    for (let i = 0; i < n; i++) s += r.pick(UNICODE);
    return s;
  }
  const n = r.int(1, 6);
  const parts = [];
  for (let i = 0; i < n; i++) parts.push(r.pick(WORDS));
  return parts.join(' ');
}

function genFloat(r, single, specials) {
  const p = r();
  if (specials && p < 0.06) return r.pick([NaN, Infinity, -Infinity]);
  let v;
  if (p < 0.1) v = r.pick([0, 1, -1, 0.5, 1e-30, -1e30, 123456789]);
  else if (p < 0.3) v = r.int(-1000000, 1000000);
  else v = (r() - 0.5) * 10 ** r.int(single ? -30 : -300, single ? 30 : 300);
  return single ? Math.fround(v) : v;
}

/**
 * Generates a model value of type t. opts: nullRate (optional fields), specials (NaN/Inf),
 * emptyRate (empty lists/maps).
 */
export function genValue(r, t, required, opts = {}) {
  const nullRate = opts.nullRate ?? 0.15;
  if (!required && r() < nullRate) return null;
  const k = kind(t);
  switch (k) {
    case 'boolean': return r() < 0.5;
    case 'tinyint': return BigInt(r.int(-128, 127));
    case 'smallint': return BigInt(r.int(-32768, 32767));
    case 'int': return r() < 0.15 ? r.pick(INT_EDGES) : BigInt(r.int(-2147483648, 2147483647));
    case 'long': return r() < 0.15 ? r.pick(LONG_EDGES) : BigInt.asIntN(64, r.u64());
    case 'float': return genFloat(r, true, opts.specials ?? true);
    case 'double': return genFloat(r, false, opts.specials ?? true);
    case 'date': return BigInt(r.int(-25567, 47482));
    case 'timestamp': case 'timestamptz': {
      const span = TS_HI - TS_LO;
      return TS_LO + (BigInt.asUintN(64, r.u64()) % span);
    }
    case 'timestamp_ms': return genValue(r, 'timestamp', true, opts) / 1000n * 1000n;
    case 'timestamp_ns': return genValue(r, 'timestamp', true, opts);
    case 'string': return genString(r);
    case 'binary': {
      const p = r();
      if (p < 0.05) return '';
      if (p < 0.1) return 'ff'.repeat(r.int(1, 80));
      return r.bytes(r.int(1, 40)).toString('hex');
    }
    case 'fixed': case 'uuid': {
      const n = k === 'uuid' ? 16 : fixedLen(t);
      const p = r();
      if (p < 0.05) return '00'.repeat(n);
      if (p < 0.1) return 'ff'.repeat(n);
      return r.bytes(n).toString('hex');
    }
    case 'list': {
      if (r() < (opts.emptyRate ?? 0.1)) return [];
      const n = r.int(1, 6);
      const a = [];
      for (let i = 0; i < n; i++) a.push(genValue(r, t.element, t['element-required'], opts));
      return a;
    }
    case 'map': {
      if (r() < (opts.emptyRate ?? 0.1)) return [];
      const n = r.int(1, 5);
      const keys = new Set();
      while (keys.size < n) keys.add(kind(t.key) === 'string' ? r.pick(MAP_KEYS) : genValue(r, t.key, true, opts));
      return [...keys].map((key) => [key, genValue(r, t.value, t['value-required'], opts)]);
    }
    case 'struct': {
      const o = {};
      for (const f of t.fields) o[f.name] = genValue(r, f.type, f.required, opts);
      return o;
    }
    default: throw new Error(`cannot generate ${k}`);
  }
}

export function genRows(schema, n, seed, opts = {}) {
  const r = rng(seed);
  const rows = [];
  for (let i = 0; i < n; i++) {
    const row = {};
    for (const f of schema.fields) {
      if (opts.override && opts.override[f.name]) row[f.name] = opts.override[f.name](i, r);
      else row[f.name] = genValue(r, f.type, f.required, opts);
    }
    rows.push(row);
  }
  return rows;
}

/** Writes model rows as pqtool input JSON lines. */
export function writeJsonl(file, schema, rows, opts = {}) {
  const lines = rows.map((row) => stringifyJson(new Map(schema.fields.map((f) => [f.name, toInputJson(f.type, row[f.name], opts)]))));
  fs.writeFileSync(file, lines.length ? `${lines.join('\n')}\n` : '');
}

// ---------------------------------------------------------------- schemas

const strMap = (kid, vid, valueRequired = false) => ({ type: 'map', 'key-id': kid, key: 'string', 'value-id': vid, value: 'string', 'value-required': valueRequired });

/** Every primitive type, nullable and required columns, map, list, list<struct{map}>, struct. */
export const ALL_TYPES_SCHEMA = {
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'tenant_id', required: true, type: 'string' },
    { id: 2, name: 'account_id', required: false, type: 'string' },
    { id: 3, name: 'b', required: false, type: 'boolean' },
    { id: 4, name: 'i32', required: false, type: 'int' },
    { id: 5, name: 'i64', required: false, type: 'long' },
    { id: 6, name: 'r_i64', required: true, type: 'long' },
    { id: 7, name: 'f32', required: false, type: 'float' },
    { id: 8, name: 'f64', required: false, type: 'double' },
    { id: 9, name: 'd', required: false, type: 'date' },
    { id: 10, name: 'ts', required: false, type: 'timestamp' },
    { id: 11, name: 'tstz', required: true, type: 'timestamptz' },
    { id: 12, name: 's', required: false, type: 'string' },
    { id: 13, name: 'bin', required: false, type: 'binary' },
    { id: 14, name: 'fx', required: false, type: 'fixed[16]' },
    { id: 15, name: 'u', required: false, type: 'uuid' },
    { id: 16, name: 'attrs', required: false, type: strMap(17, 18) },
    { id: 19, name: 'tags', required: false, type: { type: 'list', 'element-id': 20, element: 'long', 'element-required': false } },
    {
      id: 21, name: 'ev', required: false,
      type: {
        type: 'list', 'element-id': 22, 'element-required': true,
        element: {
          type: 'struct',
          fields: [
            { id: 23, name: 'name', required: true, type: 'string' },
            { id: 24, name: 'ts', required: false, type: 'timestamptz' },
            { id: 25, name: 'attrs', required: false, type: strMap(26, 27) },
            { id: 28, name: 'n', required: false, type: 'int' },
          ],
        },
      },
    },
    { id: 29, name: 'req_tags', required: true, type: { type: 'list', 'element-id': 30, element: 'string', 'element-required': true } },
    {
      id: 31, name: 'pt', required: false,
      type: { type: 'struct', fields: [
        { id: 32, name: 'x', required: true, type: 'double' },
        { id: 33, name: 'y', required: false, type: 'double' },
        { id: 34, name: 'label', required: false, type: 'string' },
      ] },
    },
  ],
};

export const TENANTS = ['acme', 'globex', 'initech'];

/** Rows for ALL_TYPES_SCHEMA: tenant_id low-cardinality (dictionary-friendly). */
export function allTypesRows(n, seed) {
  return genRows(ALL_TYPES_SCHEMA, n, seed, {
    override: { tenant_id: (i, r) => r.pick(TENANTS) },
  });
}

/** Logs-shaped schema (DESIGN §3 subset) used for corpus tests and the benchmark. */
export const LOGS_SCHEMA = {
  type: 'struct',
  'schema-id': 0,
  fields: [
    { id: 1, name: 'tenant_id', required: true, type: 'string' },
    { id: 2, name: 'account_id', required: false, type: 'string' },
    { id: 3, name: 'service_name', required: false, type: 'string' },
    { id: 4, name: 'timestamp', required: true, type: 'timestamptz' },
    { id: 5, name: 'observed_timestamp', required: false, type: 'timestamptz' },
    { id: 6, name: 'trace_id', required: false, type: 'fixed[16]' },
    { id: 7, name: 'span_id', required: false, type: 'fixed[8]' },
    { id: 8, name: 'severity_number', required: false, type: 'int' },
    { id: 9, name: 'severity_text', required: false, type: 'string' },
    { id: 10, name: 'body', required: false, type: 'string' },
    { id: 11, name: 'line_no', required: true, type: 'long' },
    { id: 12, name: 'resource_attributes', required: false, type: strMap(13, 14) },
    { id: 15, name: 'attributes', required: false, type: strMap(16, 17) },
  ],
};

// Canonical values for comparing readers (the pqtool JSON mapping, typed):
//   null; boolean; integer kinds (int, long, date days, timestamps in µs) -> BigInt;
//   float/double -> string of the number ("NaN", "Infinity", "-Infinity", "-0");
//   string -> string; binary/fixed/uuid -> lowercase hex; list -> array;
//   map -> array of [key, value]; struct -> object by field name.
// A value that cannot be converted becomes {bad: reason, raw} and never compares equal.
import { kind } from './schema.mjs';
import { show } from './json.mjs';

const bad = (reason, raw) => ({ bad: reason, raw: show(raw, 120) });

export function floatKey(x, single) {
  if (typeof x !== 'number') return bad('not a number', x);
  const v = single ? Math.fround(x) : x;
  if (Number.isNaN(v)) return 'NaN';
  if (Object.is(v, -0)) return '-0';
  return String(v);
}

const hex = (u8) => Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength).toString('hex');

/** From the generator's model (BigInt ints, Number floats, hex bytes, [k,v] maps, object structs). */
export function fromModel(t, v) {
  if (v === null || v === undefined) return null;
  const k = kind(t);
  if (k === 'float' || k === 'double') return floatKey(v, k === 'float');
  if (k === 'list') return v.map((x) => fromModel(t.element, x));
  if (k === 'map') return v.map(([a, b]) => [fromModel(t.key, a), fromModel(t.value, b)]);
  if (k === 'struct') return Object.fromEntries(t.fields.map((f) => [f.name, fromModel(f.type, v[f.name])]));
  return v;
}

/** Model value -> the JSON value written to pqtool's input (Map for objects, strings for NaN/Inf). */
export function toInputJson(t, v, opts = {}) {
  if (v === null || v === undefined) return null;
  const k = kind(t);
  if (k === 'float' || k === 'double') {
    if (Number.isNaN(v)) return 'NaN';
    if (v === Infinity) return 'Infinity';
    if (v === -Infinity) return '-Infinity';
    return v;
  }
  if ((k === 'long' || k === 'int') && opts.intStrings) return String(v);
  if (k === 'list') return v.map((x) => toInputJson(t.element, x, opts));
  if (k === 'map') return new Map(v.map(([a, b]) => [a, toInputJson(t.value, b, opts)]));
  if (k === 'struct') return new Map(t.fields.map((f) => [f.name, toInputJson(f.type, v[f.name], opts)]));
  return v;
}

/** From JSON parsed by json.mjs (pqtool cat / meta output, or our own input). */
export function fromJson(t, v) {
  if (v === null) return null;
  if (v === undefined) return bad('missing', v);
  const k = kind(t);
  switch (k) {
    case 'boolean': return typeof v === 'boolean' ? v : bad('not a boolean', v);
    case 'int': case 'long': case 'date': case 'timestamp': case 'timestamptz':
    case 'tinyint': case 'smallint': case 'timestamp_ms': case 'timestamp_ns':
      if (typeof v === 'bigint') return v;
      if (Object.is(v, -0)) return 0n;
      if (typeof v === 'string' && /^-?\d+$/.test(v)) return BigInt(v);
      return bad('not an integer', v);
    case 'float': case 'double':
      if (typeof v === 'bigint') return floatKey(Number(v), k === 'float');
      if (typeof v === 'number') return floatKey(v, k === 'float');
      if (v === 'NaN') return 'NaN';
      if (v === 'Infinity') return 'Infinity';
      if (v === '-Infinity') return '-Infinity';
      return bad('not a float', v);
    case 'string': return typeof v === 'string' ? v : bad('not a string', v);
    case 'binary': case 'fixed': case 'uuid':
      return typeof v === 'string' && /^([0-9a-f]{2})*$/.test(v) ? v : bad('not lowercase hex', v);
    case 'list': return Array.isArray(v) ? v.map((x) => fromJson(t.element, x)) : bad('not an array', v);
    case 'map':
      if (!(v instanceof Map)) return bad('not an object', v);
      return [...v].map(([a, b]) => [fromJson(t.key, a), fromJson(t.value, b)]);
    case 'struct':
      if (!(v instanceof Map)) return bad('not an object', v);
      return Object.fromEntries(t.fields.map((f) => [f.name, v.has(f.name) ? fromJson(f.type, v.get(f.name)) : bad('field missing', f.name)]));
    default: return bad(`unknown type ${k}`, v);
  }
}

const BIG = (x) => (typeof x === 'bigint' ? x : BigInt(x));

/** From @duckdb/node-api values (getRowObjects). */
export function fromDuckdb(t, v) {
  if (v === null || v === undefined) return null;
  const k = kind(t);
  try {
    switch (k) {
      case 'boolean': return v;
      case 'int': case 'long': case 'tinyint': case 'smallint': return BIG(v);
      case 'date': return BigInt(v.days);
      case 'timestamp': case 'timestamptz': return v.micros;
      case 'timestamp_ms': return v.millis !== undefined ? v.millis * 1000n : v.micros;
      case 'timestamp_ns': return v.nanos !== undefined ? v.nanos / 1000n : v.micros;
      case 'float': case 'double': return floatKey(v, k === 'float');
      case 'string': return v;
      case 'binary': case 'fixed': return hex(v.bytes);
      case 'uuid': return v.bytes ? hex(v.bytes) : v.toString().replace(/-/g, '');
      case 'list': return v.items.map((x) => fromDuckdb(t.element, x));
      case 'map': return v.entries.map((e) => [fromDuckdb(t.key, e.key), fromDuckdb(t.value, e.value)]);
      case 'struct': return Object.fromEntries(t.fields.map((f) => [f.name, fromDuckdb(f.type, v.entries[f.name])]));
      default: return bad(`unknown type ${k}`, v);
    }
  } catch (e) {
    return bad(`duckdb value: ${e.message}`, v);
  }
}

/** hyparquet parsers that keep exact values (µs BigInt timestamps, day numbers, hex UUIDs). */
export const HYPARQUET_PARSERS = {
  timestampFromMilliseconds: (ms) => ({ us: BigInt(ms) * 1000n }),
  timestampFromMicroseconds: (us) => ({ us: BigInt(us) }),
  timestampFromNanoseconds: (ns) => ({ us: BigInt(ns) / 1000n }),
  dateFromDays: (d) => ({ days: d }),
  uuidFromBytes: (b) => (b ? hex(b) : b),
};

/** From hyparquet values (parquetReadObjects with utf8:false and HYPARQUET_PARSERS). */
export function fromHyparquet(t, v) {
  if (v === null || v === undefined) return null;
  const k = kind(t);
  switch (k) {
    case 'boolean': return typeof v === 'boolean' ? v : bad('not a boolean', v);
    case 'int': case 'long': case 'tinyint': case 'smallint':
      return typeof v === 'number' || typeof v === 'bigint' ? BigInt(v) : bad('not an integer', v);
    case 'date': return v && v.days !== undefined ? BigInt(v.days) : bad('not a DATE (no DATE annotation?)', v);
    case 'timestamp': case 'timestamptz': case 'timestamp_ms': case 'timestamp_ns':
      return v && v.us !== undefined ? v.us : bad('not a TIMESTAMP (annotation?)', v);
    case 'float': case 'double': return floatKey(v, k === 'float');
    case 'string': return typeof v === 'string' ? v : bad('not a string (STRING annotation?)', v);
    case 'binary': case 'fixed': return v instanceof Uint8Array ? hex(v) : bad('not bytes', v);
    case 'uuid': return typeof v === 'string' ? v.replace(/-/g, '') : v instanceof Uint8Array ? hex(v) : bad('not a uuid', v);
    case 'list': return Array.isArray(v) ? v.map((x) => fromHyparquet(t.element, x)) : bad('not an array', v);
    case 'map':
      if (v instanceof Map) return [...v].map(([a, b]) => [fromHyparquet(t.key, a), fromHyparquet(t.value, b)]);
      if (typeof v === 'object' && !Array.isArray(v)) return Object.entries(v).map(([a, b]) => [fromHyparquet(t.key, a), fromHyparquet(t.value, b)]);
      return bad('not a map', v);
    case 'struct':
      if (typeof v !== 'object') return bad('not an object', v);
      return Object.fromEntries(t.fields.map((f) => [f.name, fromHyparquet(f.type, v[f.name])]));
    default: return bad(`unknown type ${k}`, v);
  }
}

/** Deep comparison of canonical values; pushes "path: expected X, got Y" lines into problems. */
export function compareCanon(exp, got, path, problems, max = 30) {
  if (problems.length >= max) return;
  const isObj = (x) => x !== null && typeof x === 'object';
  if (isObj(exp) && exp.bad) { problems.push(`${path}: expected value unconvertible (${exp.bad}: ${exp.raw})`); return; }
  if (isObj(got) && got.bad) { problems.push(`${path}: expected ${show(exp)}, got ${got.bad}: ${got.raw}`); return; }
  if (Array.isArray(exp)) {
    if (!Array.isArray(got)) { problems.push(`${path}: expected ${show(exp)}, got ${show(got)}`); return; }
    if (exp.length !== got.length) { problems.push(`${path}: expected ${exp.length} items ${show(exp)}, got ${got.length} items ${show(got)}`); return; }
    for (let i = 0; i < exp.length; i++) compareCanon(exp[i], got[i], `${path}[${i}]`, problems, max);
    return;
  }
  if (isObj(exp)) {
    if (!isObj(got) || Array.isArray(got)) { problems.push(`${path}: expected ${show(exp)}, got ${show(got)}`); return; }
    for (const key of Object.keys(exp)) compareCanon(exp[key], got[key], `${path}.${key}`, problems, max);
    return;
  }
  if (exp !== got) problems.push(`${path}: expected ${show(exp)}, got ${show(got)}`);
}

/** Compares row lists (canonical, objects by column name) for the given columns. */
export function compareRows(expRows, gotRows, columns, problems, { label = 'row', max = 30 } = {}) {
  if (expRows.length !== gotRows.length) problems.push(`row count: expected ${expRows.length}, got ${gotRows.length}`);
  const n = Math.min(expRows.length, gotRows.length);
  for (let i = 0; i < n && problems.length < max; i++) {
    for (const c of columns) compareCanon(expRows[i][c], gotRows[i][c], `${label} ${i} ${c}`, problems, max);
  }
  return problems;
}

/** Byte order of strings (UTF-8, unsigned), for statistics. */
export function cmpUtf8(a, b) {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

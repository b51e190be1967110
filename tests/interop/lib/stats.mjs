// Expected row-group statistics from model rows, and checks of reported ones.
// Rules: integers/dates/timestamps/booleans/floats exact (NaN never a bound; -0 == 0);
// strings/bytes exact when the true bound is <= 64 bytes, otherwise a truncated bound is
// accepted if it is still a bound (min <= true min, max >= true max, unsigned byte order).
import { kind, leaves, isBytes } from './schema.mjs';
import { show } from './json.mjs';

export const TRUNCATE_OK_ABOVE = 64;

function toBuf(t, v) {
  return isBytes(t) ? Buffer.from(v, 'hex') : Buffer.from(v, 'utf8');
}

export function cmpStat(t, a, b) {
  const k = kind(t);
  if (k === 'string' || isBytes(t)) return Buffer.compare(toBuf(t, a), toBuf(t, b));
  if (k === 'boolean') return (a ? 1 : 0) - (b ? 1 : 0);
  if (typeof a === 'bigint') return a < b ? -1 : a > b ? 1 : 0;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Per row group, per leaf path ('a.b.c'): {type, flat, min, max, nullCount (flat only), count}. */
export function expectedStats(schema, rows, rgSizes) {
  const out = [];
  let start = 0;
  for (const size of rgSizes) {
    const rg = new Map();
    const part = rows.slice(start, start + size);
    start += size;
    for (const leaf of leaves(schema)) {
      const k = kind(leaf.type);
      let min;
      let max;
      let nulls = 0;
      let count = 0;
      let hasNaN = false;
      for (const row of part) {
        for (const v of leaf.values(row)) {
          if (v === null || v === undefined) { nulls++; continue; }
          count++;
          if ((k === 'float' || k === 'double') && Number.isNaN(v)) { hasNaN = true; continue; }
          if (min === undefined || cmpStat(leaf.type, v, min) < 0) min = v;
          if (max === undefined || cmpStat(leaf.type, v, max) > 0) max = v;
        }
      }
      rg.set(leaf.path.join('.'), { type: leaf.type, flat: leaf.flat, min, max, nullCount: leaf.flat ? nulls : undefined, count, hasNaN });
    }
    out.push(rg);
  }
  return out;
}

/**
 * True when the max (string or bytes) is longer than TRUNCATE_OK_ABOVE bytes and no
 * truncated upper bound exists (its first bytes are all 0xff, or all U+10FFFF). A writer
 * that truncates may then leave both bounds out: legal, but row-group pruning is lost.
 */
export function maxUntruncatable(t, max) {
  if (max === undefined || max === null) return false;
  const k = kind(t);
  if (k !== 'string' && !isBytes(t)) return false;
  const b = toBuf(t, max);
  if (b.length <= TRUNCATE_OK_ABOVE) return false;
  if (isBytes(t)) return b.subarray(0, TRUNCATE_OK_ABOVE).every((x) => x === 0xff);
  const prefix = Buffer.from(b.subarray(0, TRUNCATE_OK_ABOVE)).toString('utf8').replace(/\ufffd$/, '');
  return [...prefix].every((c) => c === '\u{10FFFF}');
}

/**
 * Checks one reported bound against the true one; returns an error string or null.
 * hasNaN: the data holds NaN, so a writer may leave float bounds out.
 */
export function checkBound(t, which, exp, got, hasNaN = false) {
  const k = kind(t);
  if (hasNaN && (got === undefined || got === null)) return null;
  if (exp === undefined) {
    if (got === undefined || got === null) return null;
    if ((k === 'float' || k === 'double') && typeof got === 'number' && Number.isNaN(got)) return null;
    return `${which}: no non-null value, but reported ${show(got)}`;
  }
  if (got === undefined || got === null) return `${which}: missing (expected ${show(exp)})`;
  if (k === 'float' || k === 'double') {
    if (typeof got !== 'number') return `${which}: not a number ${show(got)}`;
    if (Number.isNaN(got)) return `${which}: NaN as a bound (expected ${show(exp)})`;
    const g = k === 'float' ? Math.fround(got) : got;
    return g === exp ? null : `${which}: expected ${show(exp)}, got ${show(got)}`;
  }
  if (k === 'string' || isBytes(t)) {
    if (typeof got !== 'string') return `${which}: not a string ${show(got)}`;
    if (isBytes(t) && !/^([0-9a-f]{2})*$/.test(got)) return `${which}: not lowercase hex ${show(got)}`;
    if (got === exp) return null;
    const trueLen = toBuf(t, exp).length;
    const c = cmpStat(t, got, exp);
    if (trueLen > TRUNCATE_OK_ABOVE && ((which === 'min' && c <= 0) || (which === 'max' && c >= 0))) return null;
    return `${which}: expected ${show(exp)}${trueLen > TRUNCATE_OK_ABOVE ? ' (or a truncated bound)' : ''}, got ${show(got)}`;
  }
  if (typeof got !== typeof exp) return `${which}: expected ${show(exp)} (${typeof exp}), got ${show(got)} (${typeof got})`;
  return got === exp ? null : `${which}: expected ${show(exp)}, got ${show(got)}`;
}

/** Converts a bound from pqtool meta JSON (json.mjs values) to the stats model form. */
export function boundFromJson(t, v) {
  if (v === null || v === undefined) return v;
  const k = kind(t);
  if (k === 'float' || k === 'double') {
    if (typeof v === 'bigint') return Number(v);
    if (v === 'NaN') return NaN;
    if (v === 'Infinity') return Infinity;
    if (v === '-Infinity') return -Infinity;
    return v;
  }
  if (['int', 'long', 'date', 'timestamp', 'timestamptz'].includes(k) && typeof v === 'string' && /^-?\d+$/.test(v)) return BigInt(v);
  return v;
}

function parseDuckTimestamp(s) {
  const m = /^(\d{4,})-(\d\d)-(\d\d)(?: (\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?)?(\+00(?::00)?)?$/.exec(s);
  if (!m) return undefined;
  const d = new Date(0);
  d.setUTCFullYear(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  d.setUTCHours(Number(m[4] || 0), Number(m[5] || 0), Number(m[6] || 0), 0);
  const frac = (m[7] || '').padEnd(6, '0').slice(0, 6);
  return BigInt(d.getTime()) * 1000n + BigInt(frac);
}

/** Converts DuckDB parquet_metadata stats_min_value/stats_max_value text to the stats model form. */
export function boundFromDuckdb(t, s) {
  if (s === null || s === undefined) return s;
  const k = kind(t);
  switch (k) {
    case 'boolean': return s === 'true' ? true : s === 'false' ? false : s;
    case 'int': case 'long': return /^-?\d+$/.test(s) ? BigInt(s) : s;
    case 'float': case 'double': {
      const l = s.toLowerCase();
      if (l === 'nan' || l === '-nan') return NaN;
      if (l === 'inf' || l === 'infinity') return Infinity;
      if (l === '-inf' || l === '-infinity') return -Infinity;
      return Number(s);
    }
    case 'date': {
      const us = parseDuckTimestamp(s);
      return us === undefined ? s : us / 86400000000n;
    }
    case 'timestamp': case 'timestamptz': {
      const us = parseDuckTimestamp(s);
      return us === undefined ? s : us;
    }
    case 'string': return s;
    case 'uuid':
      if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s)) return s.replace(/-/g, '').toLowerCase();
      // fall through: rendered as a blob
    case 'binary': case 'fixed': {
      const bytes = [];
      for (let i = 0; i < s.length;) {
        if (s[i] === '\\' && s[i + 1] === 'x') { bytes.push(parseInt(s.slice(i + 2, i + 4), 16)); i += 4; } else { bytes.push(s.charCodeAt(i)); i++; }
      }
      return Buffer.from(bytes).toString('hex');
    }
    default: return s;
  }
}

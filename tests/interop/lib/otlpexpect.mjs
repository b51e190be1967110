// Expected stored rows for OTLP requests, computed independently of the server from the
// OTLP/JSON form of what a client sent (docs/ingest-otlp.md "Mapping decisions"), and
// field-by-field comparison with the rows pqtool reads back from the WAL.
//
// Input: a request parsed with json.mjs parseJson (objects as Map, integer tokens as
// BigInt). Values in the expected rows: strings, BigInt for integer columns, Number for
// double columns, lowercase hex for ids, µs BigInt for timestamps, attribute maps as
// arrays of [key, AttrExpect] (see anyExpect).
import { parseJson, show } from './json.mjs';

const get = (m, camel) => {
  if (!(m instanceof Map)) return undefined;
  if (m.has(camel)) return m.get(camel);
  const snake = camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  return m.get(snake);
};
const big = (v) => (v === undefined || v === null || v === '' ? 0n : BigInt(v));
const num = (v) => (v === undefined || v === null ? null : Number(v));
const strOrNull = (v) => (v === undefined || v === null || v === '' ? null : v);
const nsToUs = (ns) => (ns >= 0n ? ns / 1000n : -((-ns + 999n) / 1000n)); // floor
const hexOrNull = (v, n) => (typeof v === 'string' && v.length === 2 * n && !/^0+$/.test(v) ? v.toLowerCase() : null);
const zeroToNull = (v) => (v === undefined || v === null || big(v) === 0n ? null : big(v));

// ---------------------------------------------------------------- AnyValue

/** Typed JSON value of an AnyValue member inside an array/kvlist (strings, BigInt ints, Number doubles, Maps). */
function anyTyped(av) {
  if (!(av instanceof Map) || av.size === 0) return null;
  if (av.has('stringValue')) return av.get('stringValue');
  if (av.has('boolValue')) return av.get('boolValue');
  if (av.has('intValue')) return BigInt(av.get('intValue'));
  if (av.has('doubleValue')) return Number(av.get('doubleValue'));
  if (av.has('bytesValue')) return av.get('bytesValue');
  if (av.has('arrayValue')) return (get(av.get('arrayValue'), 'values') || []).map(anyTyped);
  if (av.has('kvlistValue')) {
    const m = new Map();
    for (const kv of get(av.get('kvlistValue'), 'values') || []) m.set(kv.get('key'), anyTyped(kv.get('value')));
    return m;
  }
  throw new Error(`unknown AnyValue ${show(av)}`);
}

/**
 * What the stored text of an AnyValue must be: {text} for strings and bytes (exact text),
 * {json} for everything else (the stored text must parse as JSON to exactly this typed value:
 * ints as integer tokens, doubles as numbers of the same value, arrays/kvlists structurally),
 * or null (no value: stored null).
 */
export function anyExpect(av) {
  if (!(av instanceof Map) || av.size === 0) return null;
  if (av.has('stringValue')) return { text: av.get('stringValue') };
  if (av.has('bytesValue')) return { text: av.get('bytesValue') };
  return { json: anyTyped(av) };
}

/** The same expectation written by hand: S('x') exact text, J(v) typed JSON value. */
export const S = (text) => ({ text });
export const J = (json) => ({ json });

export function deepEq(a, b) {
  if (a instanceof Map || b instanceof Map) {
    if (!(a instanceof Map) || !(b instanceof Map) || a.size !== b.size) return false;
    const ea = [...a];
    const eb = [...b];
    return ea.every(([k, v], i) => k === eb[i][0] && deepEq(v, eb[i][1]));
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEq(x, b[i]));
  }
  if (typeof a === 'number' && typeof b === 'number') return Object.is(a, b) || (a === b) || (Number.isNaN(a) && Number.isNaN(b));
  return a === b;
}

/** Problem text when a stored attribute/body text does not match its expectation, else null. */
export function checkText(got, exp) {
  if (exp === null) return got === null ? null : `expected null, got ${show(got)}`;
  if (got === null || got === undefined) return `expected ${show(exp.text ?? exp.json)}, got ${show(got)}`;
  if ('text' in exp) return got === exp.text ? null : `expected ${show(exp.text)}, got ${show(got)}`;
  let parsed;
  try {
    parsed = parseJson(got);
  } catch (e) {
    return `expected JSON ${show(exp.json)}, got ${show(got)} (not JSON: ${e.message})`;
  }
  return deepEq(parsed, exp.json) ? null : `expected JSON ${show(exp.json)}, got ${show(got)}`;
}

/** Attribute list (OTLP KeyValue[]) → [key, expect][] with the last duplicate winning. */
export function attrsExpect(list) {
  const m = new Map();
  for (const kv of list || []) {
    const k = kv.get('key');
    m.delete(k);
    m.set(k, anyExpect(kv.get('value')));
  }
  return [...m];
}

/** Compares a stored map<string,string> (plain object, or null) with [key, expect][]. */
export function checkAttrs(where, got, exp, problems) {
  const g = got === null || got === undefined ? {} : got;
  if (typeof g !== 'object' || Array.isArray(g)) { problems.push(`${where}: expected a map, got ${show(got)}`); return; }
  const gk = Object.keys(g).sort();
  const ek = exp.map(([k]) => k).sort();
  if (gk.join('\u0000') !== ek.join('\u0000')) problems.push(`${where}: keys ${show(gk)}, expected ${show(ek)}`);
  for (const [k, e] of exp) {
    if (!(k in g)) continue;
    const err = checkText(g[k], e);
    if (err) problems.push(`${where}[${JSON.stringify(k)}]: ${err}`);
  }
}

// ---------------------------------------------------------------- comparison

const ATTR_COLS = new Set(['resource_attributes', 'scope_attributes', 'attributes', 'metadata']);
const DOUBLE_COLS = new Set(['value_double', 'sum', 'min', 'max', 'zero_threshold']);

/** Normalises a pqtool value of a double column (pqtool prints 5.0 as 5, read as BigInt). */
const asDouble = (v) => (v === null || v === undefined ? v : Number(v));

function checkValue(where, col, got, exp, problems) {
  if (ATTR_COLS.has(col)) return checkAttrs(where, got, exp, problems);
  if (col === 'body') {
    const err = checkText(got, exp);
    if (err) problems.push(`${where}: ${err}`);
    return undefined;
  }
  if (col === 'events' || col === 'links' || col === 'exemplars') {
    const g = got === null || got === undefined ? [] : got;
    if (!Array.isArray(g) || g.length !== exp.length) {
      problems.push(`${where}: expected ${exp.length} entries, got ${show(got)}`);
      return undefined;
    }
    exp.forEach((e, i) => {
      for (const [k, v] of Object.entries(e)) checkValue(`${where}[${i}].${k}`, k, g[i][k], v, problems);
    });
    return undefined;
  }
  if (col === 'explicit_bounds' || col === 'quantile_values') {
    const g = got === null || got === undefined ? got : got.map((x) => (typeof x === 'object' && x !== null ? Object.fromEntries(Object.entries(x).map(([a, b]) => [a, asDouble(b)])) : asDouble(x)));
    if (!deepEq(g === undefined ? null : g, exp)) problems.push(`${where}: expected ${show(exp)}, got ${show(got)}`);
    return undefined;
  }
  const g = DOUBLE_COLS.has(col) ? asDouble(got) : got;
  if (!deepEq(g === undefined ? '<missing>' : g, exp)) problems.push(`${where}: expected ${show(exp)}, got ${show(got)}`);
  return undefined;
}

/**
 * Matches expected rows to stored rows by key(row) and compares every expected column.
 * Returns problem lines.
 */
export function compareRows(label, expected, got, key) {
  const problems = [];
  if (got.length !== expected.length) problems.push(`${label}: ${got.length} rows stored, expected ${expected.length}`);
  const byKey = new Map();
  for (const r of got) {
    const k = key(r);
    if (byKey.has(k)) problems.push(`${label}: two stored rows with key ${k}`);
    byKey.set(k, r);
  }
  for (const e of expected) {
    const k = key(e);
    const g = byKey.get(k);
    if (!g) { problems.push(`${label}: no stored row with key ${k}`); continue; }
    for (const [col, v] of Object.entries(e)) {
      if (!(col in g)) { problems.push(`${label} ${k}: column ${col} missing`); continue; }
      checkValue(`${label} ${k}: ${col}`, col, g[col], v, problems);
    }
  }
  return problems;
}

// ---------------------------------------------------------------- mappings

function resourceScope(rs, scopeX) {
  const res = get(rs, 'resource') || new Map();
  const rattrs = get(res, 'attributes') || [];
  const sn = rattrs.filter((kv) => kv.get('key') === 'service.name').pop();
  let service = 'unknown_service';
  if (sn) {
    const e = anyExpect(sn.get('value'));
    if (e !== null) service = 'text' in e ? e.text : String(e.json);
  }
  const scope = get(scopeX, 'scope') || new Map();
  return {
    service,
    rattrs,
    common: {
      service_name: service,
      scope_name: strOrNull(get(scope, 'name')),
      scope_version: strOrNull(get(scope, 'version')),
      resource_attributes: attrsExpect(rattrs),
      scope_attributes: attrsExpect(get(scope, 'attributes')),
    },
  };
}

/** ExportLogsServiceRequest → { logs, events } expected rows. */
export function expectLogs(req, tenant) {
  const logs = [];
  const events = [];
  for (const rl of get(req, 'resourceLogs') || []) {
    for (const sl of get(rl, 'scopeLogs') || []) {
      const { common } = resourceScope(rl, sl);
      for (const lr of get(sl, 'logRecords') || []) {
        const t = big(get(lr, 'timeUnixNano'));
        const o = big(get(lr, 'observedTimeUnixNano'));
        const attrs = attrsExpect(get(lr, 'attributes'));
        const legacy = (k) => { const a = attrs.find(([x]) => x === k); return a && a[1] && 'text' in a[1] ? a[1].text : null; };
        const eventName = strOrNull(get(lr, 'eventName')) ?? legacy('event.name');
        const body = get(lr, 'body');
        const row = {
          tenant_id: tenant,
          account_id: null,
          ...common,
          timestamp: nsToUs(t !== 0n ? t : o),
          observed_timestamp: o === 0n ? null : nsToUs(o),
          trace_id: hexOrNull(get(lr, 'traceId'), 16),
          span_id: hexOrNull(get(lr, 'spanId'), 8),
          severity_number: zeroToNull(get(lr, 'severityNumber')),
          severity_text: strOrNull(get(lr, 'severityText')),
          body: body === undefined ? null : anyExpect(body),
          event_name: eventName,
          flags: zeroToNull(get(lr, 'flags')),
          dropped_attributes_count: zeroToNull(get(lr, 'droppedAttributesCount')),
          attributes: attrs,
        };
        if (row.body && 'text' in row.body && row.body.text === '') row.body = null;
        logs.push({ ...row, source: 'otlp' });
        if (eventName !== null) {
          const dom = legacy('event.domain') ?? (eventName.includes('.') ? eventName.slice(0, eventName.indexOf('.')) : null);
          events.push({ ...row, event_domain: dom });
        }
      }
    }
  }
  return { logs, events };
}

/** ExportTraceServiceRequest → expected spans rows. */
export function expectSpans(req, tenant) {
  const out = [];
  for (const rs of get(req, 'resourceSpans') || []) {
    for (const ss of get(rs, 'scopeSpans') || []) {
      const { common } = resourceScope(rs, ss);
      for (const sp of get(ss, 'spans') || []) {
        const start = big(get(sp, 'startTimeUnixNano'));
        const end0 = big(get(sp, 'endTimeUnixNano'));
        const end = end0 === 0n ? start : end0;
        const status = get(sp, 'status') || new Map();
        out.push({
          tenant_id: tenant,
          account_id: null,
          ...common,
          trace_id: hexOrNull(get(sp, 'traceId'), 16),
          span_id: hexOrNull(get(sp, 'spanId'), 8),
          parent_span_id: hexOrNull(get(sp, 'parentSpanId'), 8),
          timestamp: nsToUs(start),
          end_timestamp: nsToUs(end),
          duration_nanos: end > start ? end - start : 0n,
          trace_state: strOrNull(get(sp, 'traceState')),
          name: get(sp, 'name') ?? '',
          kind: zeroToNull(get(sp, 'kind')),
          status_code: big(get(status, 'code')),
          status_message: strOrNull(get(status, 'message')),
          flags: zeroToNull(get(sp, 'flags')),
          dropped_attributes_count: zeroToNull(get(sp, 'droppedAttributesCount')),
          dropped_events_count: zeroToNull(get(sp, 'droppedEventsCount')),
          dropped_links_count: zeroToNull(get(sp, 'droppedLinksCount')),
          attributes: attrsExpect(get(sp, 'attributes')),
          events: (get(sp, 'events') || []).map((ev) => {
            const t = big(get(ev, 'timeUnixNano'));
            return {
              timestamp: nsToUs(t === 0n ? start : t),
              name: get(ev, 'name') ?? '',
              attributes: attrsExpect(get(ev, 'attributes')),
              dropped_attributes_count: zeroToNull(get(ev, 'droppedAttributesCount')),
            };
          }),
          links: (get(sp, 'links') || []).map((l) => ({
            trace_id: hexOrNull(get(l, 'traceId'), 16),
            span_id: hexOrNull(get(l, 'spanId'), 8),
            trace_state: strOrNull(get(l, 'traceState')),
            attributes: attrsExpect(get(l, 'attributes')),
            dropped_attributes_count: zeroToNull(get(l, 'droppedAttributesCount')),
            flags: zeroToNull(get(l, 'flags')),
          })),
        });
      }
    }
  }
  return out;
}

const TEMPORALITY = { 1: 'DELTA', 2: 'CUMULATIVE' };
const TEMPORALITY_NAMES = { AGGREGATION_TEMPORALITY_DELTA: 'DELTA', AGGREGATION_TEMPORALITY_CUMULATIVE: 'CUMULATIVE' };
const temporality = (v) => (v === undefined ? null : TEMPORALITY[String(v)] ?? TEMPORALITY_NAMES[v] ?? `?${v}`);

/** ExportMetricsServiceRequest → expected metrics rows (one per data point). */
export function expectMetrics(req, tenant) {
  const out = [];
  for (const rm of get(req, 'resourceMetrics') || []) {
    for (const sm of get(rm, 'scopeMetrics') || []) {
      const { common, rattrs } = resourceScope(rm, sm);
      const inst = rattrs.filter((kv) => kv.get('key') === 'service.instance.id').pop();
      const instText = inst ? anyExpect(inst.get('value')) : null;
      for (const m of get(sm, 'metrics') || []) {
        let type;
        let data;
        for (const [k, t] of [['gauge', 'gauge'], ['sum', 'sum'], ['histogram', 'histogram'], ['exponentialHistogram', 'exponential_histogram'], ['summary', 'summary']]) {
          if (get(m, k) !== undefined) { type = t; data = get(m, k); }
        }
        const base = {
          tenant_id: tenant,
          account_id: null,
          ...common,
          service_instance_id: instText === null ? null : ('text' in instText ? instText.text : String(instText.json)),
          metric_name: get(m, 'name'),
          metric_type: type,
          description: strOrNull(get(m, 'description')),
          unit: strOrNull(get(m, 'unit')),
          aggregation_temporality: type === 'gauge' || type === 'summary' ? null : temporality(get(data, 'aggregationTemporality')),
          is_monotonic: type === 'sum' ? get(data, 'isMonotonic') === true : null,
          metadata: attrsExpect(get(m, 'metadata')),
        };
        for (const p of get(data, 'dataPoints') || []) {
          const st = big(get(p, 'startTimeUnixNano'));
          const row = {
            ...base,
            timestamp: nsToUs(big(get(p, 'timeUnixNano'))),
            start_timestamp: st === 0n ? null : nsToUs(st),
            attributes: attrsExpect(get(p, 'attributes')),
            flags: zeroToNull(get(p, 'flags')),
            value_double: null,
            value_int: null,
            count: null,
            sum: null,
            min: null,
            max: null,
            bucket_counts: null,
            explicit_bounds: null,
            scale: null,
            zero_count: null,
            zero_threshold: null,
            positive_offset: null,
            positive_bucket_counts: null,
            negative_offset: null,
            negative_bucket_counts: null,
            quantile_values: null,
            exemplars: (get(p, 'exemplars') || []).map((e) => ({
              timestamp: big(get(e, 'timeUnixNano')) === 0n ? null : nsToUs(big(get(e, 'timeUnixNano'))),
              value_double: get(e, 'asDouble') === undefined ? null : Number(get(e, 'asDouble')),
              value_int: get(e, 'asInt') === undefined ? null : BigInt(get(e, 'asInt')),
              span_id: hexOrNull(get(e, 'spanId'), 8),
              trace_id: hexOrNull(get(e, 'traceId'), 16),
              attributes: attrsExpect(get(e, 'filteredAttributes')),
            })),
          };
          if (type === 'gauge' || type === 'sum') {
            if (get(p, 'asDouble') !== undefined) row.value_double = Number(get(p, 'asDouble'));
            if (get(p, 'asInt') !== undefined) row.value_int = BigInt(get(p, 'asInt'));
          } else {
            row.count = big(get(p, 'count'));
            row.sum = num(get(p, 'sum'));
            if (type !== 'summary') {
              row.min = num(get(p, 'min'));
              row.max = num(get(p, 'max'));
            }
          }
          if (type === 'histogram') {
            row.bucket_counts = (get(p, 'bucketCounts') || []).map(BigInt);
            row.explicit_bounds = (get(p, 'explicitBounds') || []).map(Number);
          }
          if (type === 'exponential_histogram') {
            const pos = get(p, 'positive') || new Map();
            const neg = get(p, 'negative') || new Map();
            row.scale = big(get(p, 'scale'));
            row.zero_count = big(get(p, 'zeroCount'));
            row.zero_threshold = Number(get(p, 'zeroThreshold') ?? 0);
            row.positive_offset = big(get(pos, 'offset'));
            row.positive_bucket_counts = (get(pos, 'bucketCounts') || []).map(BigInt);
            row.negative_offset = big(get(neg, 'offset'));
            row.negative_bucket_counts = (get(neg, 'bucketCounts') || []).map(BigInt);
          }
          if (type === 'summary') {
            row.quantile_values = (get(p, 'quantileValues') || []).map((q) => ({ quantile: Number(get(q, 'quantile') ?? 0), value: Number(get(q, 'value') ?? 0) }));
          }
          out.push(row);
        }
      }
    }
  }
  return out;
}

/** A stable key of a map<string,string> column (for matching metric points). */
export const attrKey = (a) => {
  if (Array.isArray(a)) return JSON.stringify(a.map(([k, e]) => [k, e === null ? null : ('text' in e ? e.text : show(e.json))]).sort());
  return JSON.stringify(Object.entries(a || {}).map(([k, v]) => [k, v === null ? null : (() => { try { return show(parseJson(v)); } catch { return v; } })()]).sort());
};

// Iceberg schema helpers: type kinds, the Parquet layout Iceberg's Java writer produces
// (reference/iceberg-notes.md §1.5), DuckDB SQL types, and leaf column paths.

export const INT_KINDS = new Set(['int', 'long', 'date', 'timestamp', 'timestamptz', 'tinyint', 'smallint', 'timestamp_ms', 'timestamp_ns']);
export const FLOAT_KINDS = new Set(['float', 'double']);
export const BYTES_KINDS = new Set(['binary', 'uuid']);

/** Kind of a type: a primitive name ('fixed' for fixed[N]) or 'list' | 'map' | 'struct'. */
export function kind(t) {
  if (typeof t === 'string') return /^fixed\[\d+\]$/.test(t) ? 'fixed' : t;
  return t.type;
}
export function fixedLen(t) {
  return Number(/^fixed\[(\d+)\]$/.exec(t)[1]);
}
export function isBytes(t) {
  const k = kind(t);
  return k === 'binary' || k === 'uuid' || k === 'fixed';
}

const PHYS = {
  boolean: 'BOOLEAN', int: 'INT32', long: 'INT64', float: 'FLOAT', double: 'DOUBLE', date: 'INT32',
  timestamp: 'INT64', timestamptz: 'INT64', string: 'BYTE_ARRAY', binary: 'BYTE_ARRAY', uuid: 'FIXED_LEN_BYTE_ARRAY',
  fixed: 'FIXED_LEN_BYTE_ARRAY', tinyint: 'INT32', smallint: 'INT32', timestamp_ms: 'INT64', timestamp_ns: 'INT64',
};
export function physicalType(t) {
  return PHYS[kind(t)];
}

/**
 * Parquet schema elements (pre-order, root first) the Iceberg mapping implies:
 * {path, name, repetition, physical, typeLength, fieldId, numChildren, converted, logical}.
 * converted: expected converted_type, null = must be absent, undefined = not checked.
 * logical: expected logical type name ('STRING','DATE','TIMESTAMP','UUID','LIST','MAP') or null.
 */
export function parquetElements(schema) {
  const out = [{ path: [], name: null, repetition: null, numChildren: schema.fields.length, fieldId: null }];
  const prim = (t, name, required, id, path) => {
    const k = kind(t);
    const e = { path, name, repetition: required ? 'REQUIRED' : 'OPTIONAL', physical: PHYS[k], fieldId: id, numChildren: 0 };
    e.typeLength = k === 'uuid' ? 16 : k === 'fixed' ? fixedLen(t) : null;
    e.converted = undefined;
    e.logical = null;
    if (k === 'string') { e.converted = 'UTF8'; e.logical = 'STRING'; }
    if (k === 'date') { e.converted = 'DATE'; e.logical = 'DATE'; }
    if (k === 'timestamptz') { e.converted = 'TIMESTAMP_MICROS'; e.logical = 'TIMESTAMP'; e.utc = true; e.unit = 'MICROS'; }
    if (k === 'timestamp') { e.logical = 'TIMESTAMP'; e.utc = false; e.unit = 'MICROS'; }
    if (k === 'uuid') { e.converted = null; e.logical = 'UUID'; }
    if (k === 'binary' || k === 'fixed' || k === 'boolean' || k === 'float' || k === 'double') e.converted = null;
    out.push(e);
  };
  const node = (t, name, required, id, path) => {
    const k = kind(t);
    if (k === 'struct') {
      out.push({ path, name, repetition: required ? 'REQUIRED' : 'OPTIONAL', fieldId: id, numChildren: t.fields.length, converted: null, logical: null });
      for (const f of t.fields) node(f.type, f.name, f.required, f.id, [...path, f.name]);
    } else if (k === 'list') {
      out.push({ path, name, repetition: required ? 'REQUIRED' : 'OPTIONAL', fieldId: id, numChildren: 1, converted: 'LIST', logical: 'LIST' });
      out.push({ path: [...path, 'list'], name: 'list', repetition: 'REPEATED', fieldId: null, numChildren: 1 });
      node(t.element, 'element', t['element-required'], t['element-id'], [...path, 'list', 'element']);
    } else if (k === 'map') {
      out.push({ path, name, repetition: required ? 'REQUIRED' : 'OPTIONAL', fieldId: id, numChildren: 1, converted: 'MAP', logical: 'MAP' });
      out.push({ path: [...path, 'key_value'], name: 'key_value', repetition: 'REPEATED', fieldId: null, numChildren: 2 });
      node(t.key, 'key', true, t['key-id'], [...path, 'key_value', 'key']);
      node(t.value, 'value', t['value-required'], t['value-id'], [...path, 'key_value', 'value']);
    } else {
      prim(t, name, required, id, path);
    }
  };
  for (const f of schema.fields) node(f.type, f.name, f.required, f.id, [f.name]);
  return out;
}

/**
 * Leaf columns: {path (Parquet path array), type, flat (true when reached only through
 * structs, so one value per row), get(row) -> values under that leaf (flat: one value)}.
 */
export function leaves(schema) {
  const out = [];
  const walk = (t, path, flat, getter) => {
    const k = kind(t);
    if (k === 'struct') {
      for (const f of t.fields) walk(f.type, [...path, f.name], flat, (row) => getter(row).map((v) => (v == null ? null : v[f.name])));
    } else if (k === 'list') {
      walk(t.element, [...path, 'list', 'element'], false, (row) => getter(row).flatMap((v) => (v == null ? [] : v)));
    } else if (k === 'map') {
      walk(t.key, [...path, 'key_value', 'key'], false, (row) => getter(row).flatMap((v) => (v == null ? [] : v.map((e) => e[0]))));
      walk(t.value, [...path, 'key_value', 'value'], false, (row) => getter(row).flatMap((v) => (v == null ? [] : v.map((e) => e[1]))));
    } else {
      out.push({ path, type: t, flat, values: getter });
    }
  };
  for (const f of schema.fields) walk(f.type, [f.name], true, (row) => [row[f.name]]);
  return out;
}

/** DuckDB SQL type for an Iceberg type (plus the extra kinds used by parquet_from_duckdb). */
export function duckdbType(t) {
  const k = kind(t);
  switch (k) {
    case 'boolean': return 'BOOLEAN';
    case 'tinyint': return 'TINYINT';
    case 'smallint': return 'SMALLINT';
    case 'int': return 'INTEGER';
    case 'long': return 'BIGINT';
    case 'float': return 'FLOAT';
    case 'double': return 'DOUBLE';
    case 'date': return 'DATE';
    case 'timestamp': return 'TIMESTAMP';
    case 'timestamptz': return 'TIMESTAMPTZ';
    case 'timestamp_ms': return 'TIMESTAMP_MS';
    case 'timestamp_ns': return 'TIMESTAMP_NS';
    case 'string': return 'VARCHAR';
    case 'binary': case 'fixed': return 'BLOB';
    case 'uuid': return 'UUID';
    case 'list': return `${duckdbType(t.element)}[]`;
    case 'map': return `MAP(${duckdbType(t.key)}, ${duckdbType(t.value)})`;
    case 'struct': return `STRUCT(${t.fields.map((f) => `"${f.name}" ${duckdbType(f.type)}`).join(', ')})`;
    default: throw new Error(`no DuckDB type for ${JSON.stringify(t)}`);
  }
}

/** DuckDB FIELD_IDS option value for COPY ... TO (FORMAT parquet, FIELD_IDS {...}). */
export function duckdbFieldIds(schema) {
  const ids = (t, id) => {
    const k = kind(t);
    if (k === 'struct') return `{__duckdb_field_id: ${id}, ${t.fields.map((f) => `"${f.name}": ${ids(f.type, f.id)}`).join(', ')}}`;
    if (k === 'list') return `{__duckdb_field_id: ${id}, element: ${ids(t.element, t['element-id'])}}`;
    if (k === 'map') return `{__duckdb_field_id: ${id}, key: ${ids(t.key, t['key-id'])}, value: ${ids(t.value, t['value-id'])}}`;
    return String(id);
  };
  return `{${schema.fields.map((f) => `"${f.name}": ${ids(f.type, f.id)}`).join(', ')}}`;
}

// SQL literals (DuckDB dialect) for model values, to build tables DuckDB then writes to Parquet.
import { kind, duckdbType } from './schema.mjs';
import { sqlStr } from './duckdb.mjs';

const floatLit = (v) => {
  if (Number.isNaN(v)) return "'NaN'";
  if (v === Infinity) return "'Infinity'";
  if (v === -Infinity) return "'-Infinity'";
  if (Object.is(v, -0)) return "'-0.0'";
  return `'${String(v)}'`;
};

export function sqlLiteral(t, v) {
  const T = duckdbType(t);
  if (v === null || v === undefined) return `NULL::${T}`;
  const k = kind(t);
  switch (k) {
    case 'boolean': return v ? 'TRUE' : 'FALSE';
    case 'tinyint': case 'smallint': case 'int': case 'long': return `'${v}'::${T}`;
    case 'float': case 'double': return `${floatLit(v)}::${T}`;
    case 'date': return `(DATE '1970-01-01' + '${v}'::INTEGER)`;
    case 'timestamp': return `make_timestamp('${v}'::BIGINT)`;
    case 'timestamptz': return `make_timestamp('${v}'::BIGINT)::TIMESTAMPTZ`;
    case 'timestamp_ms': return `make_timestamp('${v}'::BIGINT)::TIMESTAMP_MS`;
    case 'timestamp_ns': return `make_timestamp_ns('${v * 1000n}'::BIGINT)`;
    case 'string': return sqlStr(v);
    case 'binary': case 'fixed': return `from_hex('${v}')`;
    case 'uuid': return `'${v.slice(0, 8)}-${v.slice(8, 12)}-${v.slice(12, 16)}-${v.slice(16, 20)}-${v.slice(20)}'::UUID`;
    case 'list': return `[${v.map((x) => sqlLiteral(t.element, x)).join(', ')}]::${T}`;
    case 'map': return `MAP {${v.map(([a, b]) => `${sqlLiteral(t.key, a)}: ${sqlLiteral(t.value, b)}`).join(', ')}}::${T}`;
    case 'struct': return `{${t.fields.map((f) => `'${f.name}': ${sqlLiteral(f.type, v[f.name])}`).join(', ')}}::${T}`;
    default: throw new Error(`no SQL literal for ${k}`);
  }
}

/** Creates table `name` with the schema's columns and inserts the model rows. */
export async function loadTable(db, name, schema, rows, batch = 200) {
  const cols = schema.fields.map((f) => `"${f.name}" ${duckdbType(f.type)}${f.required ? ' NOT NULL' : ''}`);
  await db.run(`CREATE OR REPLACE TABLE ${name} (${cols.join(', ')})`);
  for (let i = 0; i < rows.length; i += batch) {
    const values = rows.slice(i, i + batch).map((row) => `(${schema.fields.map((f) => sqlLiteral(f.type, row[f.name])).join(', ')})`);
    await db.run(`INSERT INTO ${name} VALUES ${values.join(',\n')}`);
  }
}

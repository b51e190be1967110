// Checks shared by the interop scripts. Each returns a list of problem lines ([] = pass).
import { kind, parquetElements, leaves } from './schema.mjs';
import { fromModel, fromJson, fromDuckdb, compareRows } from './values.mjs';
import { expectedStats, checkBound, boundFromJson, boundFromDuckdb, maxUntruncatable } from './stats.mjs';
import { pqCat, pqMeta, plain } from './pqtool.mjs';
import { sqlStr } from './duckdb.mjs';
import { show } from './json.mjs';
import { diag } from './tap.mjs';

export const canonModelRows = (schema, rows, cols = schema.fields.map((f) => f.name)) =>
  rows.map((row) => Object.fromEntries(cols.map((c) => [c, fromModel(schema.fields.find((f) => f.name === c).type, row[c])])));

/** pqtool cat output equals the model rows (optionally a projection). */
export function checkCat(file, schema, rows, columns) {
  const cols = columns || schema.fields.map((f) => f.name);
  const got = pqCat(file, columns).map((m) => {
    const o = {};
    for (const c of cols) o[c] = fromJson(schema.fields.find((f) => f.name === c).type, m.get(c));
    const extra = [...m.keys()].filter((k) => !cols.includes(k));
    if (extra.length) o.__extra = extra;
    return o;
  });
  const problems = [];
  const withExtra = got.filter((o) => o.__extra);
  if (withExtra.length) problems.push(`rows carry columns not asked for: ${withExtra[0].__extra.join(',')}`);
  return compareRows(canonModelRows(schema, rows, cols), got, cols, problems);
}

/** DuckDB read_parquet values equal the model rows. */
export async function checkDuckdbValues(db, file, schema, rows) {
  const cols = schema.fields.map((f) => f.name);
  const problems = [];
  let got;
  try {
    got = await db.rows(`SELECT * FROM read_parquet(${sqlStr(file)})`);
  } catch (e) {
    problems.push(`read_parquet failed: ${e.message}`);
    // isolate: which columns fail on their own
    for (const c of cols) {
      try {
        await db.rows(`SELECT "${c}" FROM read_parquet(${sqlStr(file)})`);
      } catch (e2) {
        problems.push(`  column ${c}: ${e2.message.split('\n')[0]}`);
      }
    }
    return problems;
  }
  const canon = got.map((r) => Object.fromEntries(schema.fields.map((f) => [f.name, fromDuckdb(f.type, r[f.name])])));
  const names = got.length ? Object.keys(got[0]) : [];
  if (got.length && names.join(',') !== cols.join(',')) problems.push(`columns: expected ${cols.join(',')}, got ${names.join(',')}`);
  return compareRows(canonModelRows(schema, rows), canon, cols, problems);
}

/** DuckDB parquet_schema: names, repetition, physical/converted/logical types and field_id on every element. */
export async function checkDuckdbSchema(db, file, schema) {
  const problems = [];
  const got = await db.json(`SELECT * FROM parquet_schema(${sqlStr(file)})`);
  const exp = parquetElements(schema);
  if (got.length !== exp.length) problems.push(`element count: expected ${exp.length}, got ${got.length}`);
  for (let i = 0; i < Math.min(got.length, exp.length); i++) {
    const e = exp[i];
    const g = got[i];
    const where = `element ${i} (${e.path.join('.') || '<root>'})`;
    if (i === 0) {
      if (String(g.num_children) !== String(e.numChildren)) problems.push(`${where}: num_children ${g.num_children}, expected ${e.numChildren}`);
      continue;
    }
    if (g.name !== e.name) problems.push(`${where}: name ${show(g.name)}, expected ${show(e.name)}`);
    if (g.repetition_type !== e.repetition) problems.push(`${where}: repetition ${g.repetition_type}, expected ${e.repetition}`);
    const gid = g.field_id === null ? null : Number(g.field_id);
    if (gid !== e.fieldId) problems.push(`${where}: field_id ${gid}, expected ${e.fieldId}`);
    if (e.numChildren) {
      if (String(g.num_children) !== String(e.numChildren)) problems.push(`${where}: num_children ${g.num_children}, expected ${e.numChildren}`);
      if (g.type !== null) problems.push(`${where}: group has physical type ${g.type}`);
    } else {
      if (g.type !== e.physical) problems.push(`${where}: physical type ${g.type}, expected ${e.physical}`);
      if (e.typeLength !== null && String(g.type_length) !== String(e.typeLength)) problems.push(`${where}: type_length ${g.type_length}, expected ${e.typeLength}`);
    }
    if (e.converted !== undefined && (g.converted_type ?? null) !== e.converted) problems.push(`${where}: converted_type ${g.converted_type}, expected ${e.converted}`);
    if (e.logical === 'TIMESTAMP') {
      const lt = g.logical_type || '';
      if (!/^TimestampType/.test(lt) || !lt.includes(`isAdjustedToUTC=${e.utc ? 1 : 0}`) || !/MICROS=MicroSeconds/.test(lt)) {
        problems.push(`${where}: logical_type ${lt || null}, expected TIMESTAMP(isAdjustedToUTC=${e.utc}, MICROS)`);
      }
    }
    if (e.logical === 'UUID' && g.logical_type !== 'UUIDType()') problems.push(`${where}: logical_type ${g.logical_type}, expected UUIDType()`);
  }
  return problems;
}

/** Row-group sizes from pqtool meta. */
export function metaRowGroups(meta) {
  return (meta.get('row_groups') || []).map((rg) => Number(rg.get('num_rows')));
}

function metaColumns(rg) {
  const m = new Map();
  for (const c of rg.get('columns') || []) m.set(c.get('path'), c);
  return m;
}

/**
 * Statistics in pqtool meta and DuckDB parquet_metadata agree with the data (and each other).
 * Flat columns: min, max, null_count exact; nested leaves: min/max only, null_count DuckDB == pqtool.
 */
export async function checkStats(db, file, schema, rows, meta) {
  const problems = [];
  const sizes = metaRowGroups(meta);
  const total = sizes.reduce((a, b) => a + b, 0);
  if (Number(meta.get('num_rows')) !== rows.length) problems.push(`meta num_rows ${meta.get('num_rows')}, expected ${rows.length}`);
  if (total !== rows.length) problems.push(`meta row groups sum to ${total} rows, expected ${rows.length}`);
  const exp = expectedStats(schema, rows, sizes);
  const duck = await db.json(`SELECT row_group_id, row_group_num_rows, path_in_schema, type, stats_null_count, stats_min_value, stats_max_value, stats_min, stats_max FROM parquet_metadata(${sqlStr(file)}) ORDER BY row_group_id, column_id`);
  const duckRg = new Map();
  for (const d of duck) {
    const rg = Number(d.row_group_id);
    if (!duckRg.has(rg)) duckRg.set(rg, new Map());
    duckRg.get(rg).set(d.path_in_schema.split(', ').join('.'), d);
  }
  if (duckRg.size !== sizes.length) problems.push(`DuckDB sees ${duckRg.size} row groups, pqtool meta ${sizes.length}`);
  const nLeaves = leaves(schema).length;
  const notes = new Set();
  (meta.get('row_groups') || []).forEach((rgMeta, i) => {
    const cols = metaColumns(rgMeta);
    if (cols.size !== nLeaves) problems.push(`rg ${i}: pqtool meta lists ${cols.size} columns, expected ${nLeaves} (paths: ${[...cols.keys()].join(' ')})`);
    const drg = duckRg.get(i) || new Map();
    for (const [p, e] of exp[i]) {
      const mc = cols.get(p);
      const dc = drg.get(p);
      const at = `rg ${i} ${p}`;
      if (!mc) problems.push(`${at}: missing in pqtool meta`);
      if (!dc) problems.push(`${at}: missing in DuckDB parquet_metadata`);
      // both bounds left out because the max cannot be truncated: allowed, noted once
      const dropped = maxUntruncatable(e.type, e.max)
        && (!mc || (mc.get('min') == null && mc.get('max') == null))
        && (!dc || (dc.stats_min_value == null && dc.stats_max_value == null));
      if (dropped) notes.add(`${p}: min/max left out where the max (> 64 bytes of 0xff / U+10FFFF) cannot be truncated`);
      if (mc && !dropped) {
        for (const which of ['min', 'max']) {
          const err = checkBound(e.type, which, e[which], boundFromJson(e.type, mc.get(which)), e.hasNaN);
          if (err) problems.push(`${at}: pqtool meta ${err}`);
        }
        if (e.flat && (mc.get('null_count') === undefined || Number(mc.get('null_count')) !== e.nullCount)) problems.push(`${at}: pqtool meta null_count ${show(mc.get('null_count'))}, expected ${e.nullCount}`);
      }
      if (dc) {
        for (const which of dropped ? [] : ['min', 'max']) {
          // DuckDB's parquet_metadata shows an infinite bound as NULL (even for its own files)
          if ((e[which] === Infinity || e[which] === -Infinity) && dc[`stats_${which}_value`] === null) continue;
          const err = checkBound(e.type, which, e[which], boundFromDuckdb(e.type, dc[`stats_${which}_value`]), e.hasNaN);
          if (err) problems.push(`${at}: DuckDB ${err} (raw ${show(dc[`stats_${which}_value`])})`);
        }
        if (e.flat && (dc.stats_null_count === null || Number(dc.stats_null_count) !== e.nullCount)) problems.push(`${at}: DuckDB null_count ${dc.stats_null_count}, expected ${e.nullCount}`);
        if (!e.flat && mc && dc.stats_null_count !== null && mc.get('null_count') !== undefined && mc.get('null_count') !== null && Number(dc.stats_null_count) !== Number(mc.get('null_count'))) {
          problems.push(`${at}: null_count DuckDB ${dc.stats_null_count} != pqtool meta ${mc.get('null_count')}`);
        }
      }
    }
  });
  for (const n of notes) if (!noted.has(n)) { noted.add(n); diag(`note: ${n}`); }
  return problems;
}

const noted = new Set();

export { pqMeta, plain, kind };

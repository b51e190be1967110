// Interop: rows shifted into Iceberg, read back by independent readers. Logs of two tenants
// over OTLP/HTTP JSON (bodies known exactly), the corpus traces, the shared OTLP examples
// (logs, events, metrics) and corpus log lines over Loki push; POST
// /maintain/run?job=shift; then icebird (metadata JSON → manifest list → manifests (Avro) →
// Parquet data files via hyparquet) must return exactly the rows sent and, for every table,
// exactly the rows the WAL held before the shift; avsc decodes every manifest list and
// manifest (field-id on every field); DuckDB read_parquet returns the rows with exact µs
// timestamps and parquet_schema shows a field id on every field. icebird fetches with
// fetch(), which has no file:// in Node, so file: URLs are served from disk by a shim.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test, done, bail } from './lib/tap.mjs';
import { loadDep, pqtoolExists, SHARED } from './lib/env.mjs';
import { Server } from './lib/server.mjs';
import { openDuckdb, sqlStr } from './lib/duckdb.mjs';

const icebird = await loadDep('icebird').catch(() => null);
if (!icebird) bail('icebird not installed (scripts/setup.sh)');
if (!pqtoolExists()) bail('pqtool not built');

const realFetch = globalThis.fetch;
globalThis.fetch = async (url, init) => {
  const u = String(url);
  if (!u.startsWith('file:')) return realFetch(url, init);
  try {
    const body = fs.readFileSync(fileURLToPath(u));
    return new Response(body, { status: 200, headers: { 'Content-Length': String(body.length) } });
  } catch {
    return new Response('not found', { status: 404, statusText: 'Not Found' });
  }
};

const DAY0_NS = 1768003200n * 1000000000n; // 2026-01-10T00:00:00Z
const srv = await Server.start({ configText: 'maintain:\n  shift_interval: 0s\n' });
await srv.waitReady('maintain');

const sent = []; // [tenant, body, timestamp µs]
async function postLogs(tenant, tag, n) {
  const recs = [];
  for (let i = 0; i < n; i++) {
    const ns = DAY0_NS + BigInt((i * 7919) % 172800) * 1000000000n + BigInt(i);
    recs.push({ timeUnixNano: String(ns), body: { stringValue: `${tag}-${i}` }, severityText: 'INFO' });
    sent.push([tenant, `${tag}-${i}`, Number(ns / 1000n)]);
  }
  const body = JSON.stringify({ resourceLogs: [{
    resource: { attributes: [{ key: 'service.name', value: { stringValue: `svc-${tag}` } }] },
    scopeLogs: [{ scope: { name: 'icebird-test' }, logRecords: recs }] }] });
  const r = await realFetch(srv.url('otlp_http', '/v1/logs'), {
    method: 'POST', body, headers: { 'Content-Type': 'application/json', 'X-Scope-OrgID': tenant } });
  if (r.status !== 200) throw new Error(`ingest ${r.status} ${await r.text()}`);
}

await postLogs('alpha', 'a1', 250);
await postLogs('beta', 'b1', 120);
await postLogs('alpha', 'a2', 30);
const traces = fs.readFileSync(path.join(SHARED, 'corpus', 'otlp', 'proto-examples-trace.json'));
for (const tenant of ['alpha', 'beta']) {
  const r = await realFetch(srv.url('otlp_http', '/v1/traces'), {
    method: 'POST', body: traces, headers: { 'Content-Type': 'application/json', 'X-Scope-OrgID': tenant } });
  if (r.status !== 200) bail(`trace ingest ${r.status}`);
}
// the shared OTLP examples (logs incl. events, metrics) and corpus log lines over Loki push
for (const [signal, name] of [['logs', 'proto-examples-logs'], ['logs', 'proto-examples-events'],
  ['logs', 'collector-pdata-logs'], ['metrics', 'proto-examples-metrics']]) {
  const body = fs.readFileSync(path.join(SHARED, 'corpus', 'otlp', `${name}.json`));
  const r = await realFetch(srv.url('otlp_http', `/v1/${signal}`), {
    method: 'POST', body, headers: { 'Content-Type': 'application/json', 'X-Scope-OrgID': 'gamma' } });
  if (r.status !== 200) bail(`${name} ingest ${r.status}`);
}
const corpusLines = fs.readFileSync(path.join(SHARED, 'corpus', 'logs', 'linux.log'), 'utf8')
  .split('\n').filter(Boolean).slice(0, 400);
{
  const values = corpusLines.map((l, i) => [String(DAY0_NS + BigInt(i) * 1000000n), l]);
  const r = await realFetch(srv.url('otlp_http', '/loki/api/v1/push'), {
    method: 'POST',
    body: JSON.stringify({ streams: [{ stream: { job: 'syslog', host: 'combo' }, values }] }),
    headers: { 'Content-Type': 'application/json', 'X-Scope-OrgID': 'gamma' } });
  if (r.status !== 204 && r.status !== 200) bail(`loki push ${r.status}`);
}
const walSpans = srv.walRows('spans');
const walAll = Object.fromEntries(['logs', 'spans', 'metrics', 'events'].map((t) => [t, srv.walRows(t)]));

const res = await realFetch(srv.url('maintain', '/maintain/run?job=shift'), { method: 'POST' });
const outcome = await res.json();

await test('POST /maintain/run?job=shift succeeds', () =>
  (res.status === 200 && outcome.outcome === 'ok' &&
    outcome.rows === Object.values(walAll).reduce((n, r) => n + r.length, 0)
    ? [] : [JSON.stringify(outcome), `sent ${sent.length} logs + ${walSpans.length} spans`]));

/** The newest metadata file of a table (highest version number). */
function latestMetadata(table) {
  const dir = path.join(srv.dataDir, 'warehouse', 'icegate', table, 'metadata');
  const names = fs.readdirSync(dir).filter((f) => /^\d{5}-.*\.metadata\.json$/.test(f)).sort();
  return { tableUrl: `file://${path.join(srv.dataDir, 'warehouse', 'icegate', table)}`, metadataFileName: names.at(-1) };
}

const hex = (v) => (v == null ? null : Buffer.from(v).toString('hex'));

// hyparquet gives timestamps as Date (ms) or as BigInt µs: compare at the precision given.
const tsKey = (v) => (v instanceof Date ? `${v.getTime()}ms` : typeof v === 'bigint' ? `${v}us` : `${v}?`);
const wantTs = (v, us) => (v instanceof Date ? `${Math.floor(us / 1000)}ms` : `${us}us`);

await test('icebird reads icegate.logs: exactly the rows sent (tenant, body, timestamp)', async () => {
  const rows = (await icebird.icebergRead(latestMetadata('logs'))).filter((r) => r.tenant_id !== 'gamma');
  const problems = [];
  if (rows.length !== sent.length) problems.push(`${rows.length} rows, sent ${sent.length}`);
  const sample = rows[0]?.timestamp;
  const got = rows.map((r) => `${r.tenant_id}|${r.body}|${tsKey(r.timestamp)}`).sort();
  const want = sent.map(([t, b, us]) => `${t}|${b}|${wantTs(sample, us)}`).sort();
  const d = got.findIndex((g, i) => g !== want[i]);
  if (d >= 0) problems.push(`row ${d}: icebird ${got[d]} vs sent ${want[d]}`);
  if (!rows.every((r) => r.account_id == null)) problems.push('account_id not null');
  return problems;
});

await test('icebird reads icegate.spans: the WAL\'s spans, ids intact', async () => {
  const rows = await icebird.icebergRead(latestMetadata('spans'));
  const key = (r) => `${r.tenant_id}|${hex(r.trace_id)}|${hex(r.span_id)}|${r.name}`;
  const got = rows.map(key).sort();
  const want = walSpans.map((r) => `${r.tenant_id}|${r.trace_id}|${r.span_id}|${r.name}`).sort();
  return JSON.stringify(got) === JSON.stringify(want) ? [] : [`got ${got.length} ${got[0]}, want ${want.length} ${want[0]}`];
});

// Every table: icebird returns exactly the rows the WAL held before the shift (compared on
// tenant, timestamp at the precision icebird gives, the row's text and its ids).
const text = (r) => r.body ?? r.name ?? r.metric_name ?? null;
const idsOf = (r, h) => `${h(r.trace_id)}|${h(r.span_id)}`;
for (const table of ['logs', 'spans', 'metrics', 'events']) {
  await test(`icebird reads icegate.${table}: exactly the rows of the WAL before the shift`, async () => {
    const rows = await icebird.icebergRead(latestMetadata(table));
    const ms = rows[0]?.timestamp instanceof Date;
    const got = rows.map((r) => `${r.tenant_id}|${tsKey(r.timestamp)}|${text(r)}|${idsOf(r, hex)}|${r.service_name}`).sort();
    const want = walAll[table].map((r) => `${r.tenant_id}|${ms ? `${Math.floor(Number(r.timestamp) / 1000)}ms` : `${r.timestamp}us`}|${text(r)}|${idsOf(r, (v) => v ?? null)}|${r.service_name}`).sort();
    const problems = [];
    if (!rows.length) problems.push('no rows');
    if (got.length !== want.length) problems.push(`${got.length} rows, the WAL had ${want.length}`);
    const d = got.findIndex((g, i) => g !== want[i]);
    if (d >= 0) problems.push(`row ${d}: icebird ${got[d]} vs WAL ${want[d]}`);
    return problems;
  });
}

// avsc (an independent Avro implementation) decodes every manifest list and manifest the
// shift wrote: a field-id on every record field, the entry counts of the list.
const avroMod = await loadDep('avsc').catch(() => null);
if (avroMod) {
  const avro = avroMod.default || avroMod;
  const decode = (file) => new Promise((resolve, reject) => {
    const out = { records: [] };
    avro.createFileDecoder(file)
      .on('metadata', (type, codec, header) => { out.schema = JSON.parse(header.meta['avro.schema'].toString('utf8')); out.meta = header.meta; })
      .on('data', (r) => out.records.push(r))
      .on('error', reject)
      .on('end', () => resolve(out));
  });
  const missing = (schema, where, out) => {
    if (Array.isArray(schema)) { schema.forEach((b) => missing(b, where, out)); return; }
    if (!schema || typeof schema !== 'object') return;
    if (schema.type === 'record') {
      for (const f of schema.fields) {
        if (typeof f['field-id'] !== 'number') out.push(`${where}.${f.name}`);
        missing(f.type, `${where}.${f.name}`, out);
      }
    } else if (schema.type === 'array') missing(schema.items, where, out);
    else if (schema.type === 'map') missing(schema.values, where, out);
    else if (typeof schema.type === 'object') missing(schema.type, where, out);
  };
  await test('avsc decodes the manifest lists and manifests: field-id on every field, counts agree', async () => {
    const problems = [];
    for (const table of ['logs', 'spans', 'metrics', 'events']) {
      const { tableUrl, metadataFileName } = latestMetadata(table);
      const md = JSON.parse(fs.readFileSync(path.join(fileURLToPath(tableUrl), 'metadata', metadataFileName), 'utf8'));
      const snap = md.snapshots.find((x) => x['snapshot-id'] === md['current-snapshot-id']);
      const list = await decode(fileURLToPath(snap['manifest-list']));
      const miss = [];
      missing(list.schema, 'manifest_file', miss);
      for (const m of list.records) {
        const man = await decode(fileURLToPath(m.manifest_path));
        missing(man.schema, 'manifest_entry', miss);
        if (man.records.length !== m.added_files_count + m.existing_files_count + m.deleted_files_count) problems.push(`${table}: ${m.manifest_path} has ${man.records.length} entries`);
        if (!man.meta['partition-spec'] || !man.meta.schema) problems.push(`${table}: manifest header lacks schema/partition-spec`);
      }
      if (miss.length) problems.push(`${table}: no field-id on ${[...new Set(miss)].slice(0, 5).join(', ')}`);
    }
    return problems;
  });
}

/** Every data file of a table under its data/ directory. */
function dataFiles(table) {
  const out = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.parquet')) out.push(p);
    }
  };
  walk(path.join(srv.dataDir, 'warehouse', 'icegate', table, 'data'));
  return out.sort();
}

const db = await openDuckdb(srv.dir);
await test('DuckDB read_parquet over the logs data files: the rows sent', async () => {
  const files = dataFiles('logs');
  const list = `[${files.map(sqlStr).join(',')}]`;
  const rows = await db.json(`SELECT tenant_id, body, epoch_us(timestamp) AS us FROM read_parquet(${list}) WHERE tenant_id <> 'gamma'`);
  const got = rows.map((r) => `${r.tenant_id}|${r.body}|${r.us}`).sort();
  const want = sent.map(([t, b, us]) => `${t}|${b}|${us}`).sort();
  const d = got.findIndex((g, i) => g !== want[i]);
  return got.length === want.length && d < 0 ? [] : [`${got.length} vs ${want.length} rows; first difference ${got[d]} vs ${want[d]}`];
});

await test('DuckDB parquet_schema: a field id on every field of every data file', async () => {
  const problems = [];
  for (const table of ['logs', 'spans']) {
    for (const f of dataFiles(table)) {
      const els = await db.json(`SELECT name, field_id FROM parquet_schema(${sqlStr(f)})`);
      // the first element is the root; the repeated wrapper groups of maps (key_value) and
      // lists (list) carry no id in Iceberg's Parquet mapping; every other element does
      for (const e of els.slice(1)) {
        if (e.field_id === null && e.name !== 'key_value' && e.name !== 'list') problems.push(`${path.basename(f)}: ${e.name} has no field_id`);
      }
      if (els.length < 20) problems.push(`${path.basename(f)}: only ${els.length} schema elements`);
    }
  }
  return problems.slice(0, 5);
});
db.close();

await srv.stop();
done();

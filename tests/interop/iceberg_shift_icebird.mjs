// Interop: rows shifted into Iceberg, read back by icebird (an independent JS Iceberg reader:
// metadata JSON → manifest list → manifests (Avro) → Parquet data files via hyparquet).
// Logs of two tenants are sent over OTLP/HTTP JSON (bodies known exactly) plus the corpus
// traces; POST /maintain/run?job=shift; icebird must return exactly the rows that were sent
// (logs: tenant, body, timestamp; spans: count and ids as the WAL had them). icebird fetches
// with fetch(), which has no file:// in Node, so file: URLs are served from disk by a shim.
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
const walSpans = srv.walRows('spans');

const res = await realFetch(srv.url('maintain', '/maintain/run?job=shift'), { method: 'POST' });
const outcome = await res.json();

await test('POST /maintain/run?job=shift succeeds', () =>
  (res.status === 200 && outcome.outcome === 'ok' && outcome.rows === sent.length + walSpans.length
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
  const rows = await icebird.icebergRead(latestMetadata('logs'));
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
  const rows = await db.json(`SELECT tenant_id, body, epoch_us(timestamp) AS us FROM read_parquet(${list})`);
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

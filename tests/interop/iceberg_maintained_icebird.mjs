// Interop after every maintain job: logs of two tenants shifted in several commits, then
// compact, retention (tenant "old" keeps 30 days, its 2026-01-10 rows go; its recent rows
// stay), expire-snapshots keeping 1 and remove-orphans without a safety age. icebird (an
// independent Iceberg reader: metadata → manifest list → manifests → Parquet) must return
// exactly the rows still due — no row of a replaced or dropped file, none twice — and DuckDB
// read_parquet over every file icebird's manifests reference must count the same rows.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test, done, bail } from './lib/tap.mjs';
import { loadDep } from './lib/env.mjs';
import { Server } from './lib/server.mjs';
import { openDuckdb, sqlStr } from './lib/duckdb.mjs';

const icebird = await loadDep('icebird').catch(() => null);
if (!icebird) bail('icebird not installed (scripts/setup.sh)');

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

const OLD_NS = 1768003200n * 1000000000n; // 2026-01-10T00:00:00Z
const RECENT_NS = BigInt(Date.now() - 3 * 3600 * 1000) * 1000000n;
const tmp = fs.mkdtempSync('/tmp/icegate-interop-ov-');
const ov = path.join(tmp, 'overrides.yaml');
fs.writeFileSync(ov, 'overrides:\n  old:\n    retention_period: 30d\n');
const srv = await Server.start({
  configText: 'maintain:\n  shift_interval: 0s\n  wal_grace_period: 0s\n  expire_min_age: 0s\n' +
    '  expire_keep_snapshots: 1\n  orphan_min_age: 0s\n' +
    `limits:\n  overrides_file: ${ov}\n  overrides_period: 1s\n`,
});
await srv.waitReady('maintain');

const due = new Set(); // tenant/body still due after retention
async function postLogs(tenant, tag, n, base, keep) {
  const recs = [];
  for (let i = 0; i < n; i++) {
    const ns = base + BigInt((i * 7919) % 7200) * 1000000000n;
    recs.push({ timeUnixNano: String(ns), body: { stringValue: `${tag}-${i}` } });
    if (keep) due.add(`${tenant}/${tag}-${i}`);
  }
  const body = JSON.stringify({ resourceLogs: [{
    resource: { attributes: [{ key: 'service.name', value: { stringValue: `svc-${tag.length}` } }] },
    scopeLogs: [{ logRecords: recs }] }] });
  const r = await realFetch(srv.url('otlp_http', '/v1/logs'), {
    method: 'POST', body, headers: { 'Content-Type': 'application/json', 'X-Scope-OrgID': tenant } });
  if (r.status !== 200) throw new Error(`ingest ${r.status} ${await r.text()}`);
}
async function run(job) {
  const r = await realFetch(srv.url('maintain', `/maintain/run?job=${job}`), { method: 'POST' });
  const j = await r.json();
  if (r.status !== 200 || j.outcome !== 'ok') throw new Error(`${job}: ${r.status} ${JSON.stringify(j)}`);
  return j;
}

const outcomes = {};
try {
  for (let k = 0; k < 3; k++) {
    await postLogs('old', `o${k}`, 40, OLD_NS, false);
    await postLogs('old', `r${k}`, 25, RECENT_NS, true);
    await postLogs('keep', `k${k}`, 30, OLD_NS, true);
    await run('shift');
  }
  await new Promise((r) => setTimeout(r, 1200)); // the overrides file is read
  for (const job of ['compact', 'retention', 'expire-snapshots']) outcomes[job] = await run(job);
  // an abandoned file (what a crash before a commit leaves)
  fs.writeFileSync(path.join(srv.dataDir, 'warehouse', 'icegate', 'logs', 'data', 'abandoned.parquet'), 'x');
  outcomes['remove-orphans'] = await run('remove-orphans');
} catch (e) {
  await srv.stop();
  bail(String(e));
}

function latestMetadata(table) {
  const dir = path.join(srv.dataDir, 'warehouse', 'icegate', table, 'metadata');
  const names = fs.readdirSync(dir).filter((f) => /^\d{5}-.*\.metadata\.json$/.test(f)).sort();
  return { tableUrl: `file://${path.join(srv.dataDir, 'warehouse', 'icegate', table)}`, metadataFileName: names.at(-1) };
}

await test('the jobs did something: compact merged, retention dropped, expire and orphans removed', () => {
  const c = outcomes;
  if (fs.existsSync(path.join(srv.dataDir, 'warehouse', 'icegate', 'logs', 'data', 'abandoned.parquet'))) return ['orphan kept'];
  return c.compact.commits >= 1 && c.retention.commits >= 1 && c['expire-snapshots'].commits >= 1 &&
    c['remove-orphans'].files === 1 ? [] : [JSON.stringify(c)];
});

let rows = [];
await test('icebird reads icegate.logs after all jobs: exactly the rows still due', async () => {
  rows = await icebird.icebergRead(latestMetadata('logs'));
  const got = rows.map((r) => `${r.tenant_id}/${r.body}`);
  const seen = new Set(got);
  const errs = [];
  if (got.length !== seen.size) errs.push(`${got.length - seen.size} rows twice`);
  const extra = got.filter((g) => !due.has(g));
  if (extra.length) errs.push(`not due: ${extra.length}, e.g. ${extra.slice(0, 3)}`);
  const lost = [...due].filter((d) => !seen.has(d));
  if (lost.length) errs.push(`lost: ${lost.length}, e.g. ${lost.slice(0, 3)}`);
  return errs;
});

await test('DuckDB read_parquet over the live files counts the same rows', async () => {
  const md = JSON.parse(fs.readFileSync(path.join(srv.dataDir, 'warehouse', 'icegate', 'logs',
    'metadata', latestMetadata('logs').metadataFileName), 'utf8'));
  const dataDir = path.join(srv.dataDir, 'warehouse', 'icegate', 'logs', 'data');
  const files = [];
  const walk = (d) => { for (const e of fs.readdirSync(d, { withFileTypes: true })) {
    if (e.isDirectory()) walk(path.join(d, e.name)); else if (e.name.endsWith('.parquet')) files.push(path.join(d, e.name));
  } };
  walk(dataDir);
  // after expire keep-1 and orphans without age, only the current snapshot's files are left
  const db = await openDuckdb(tmp);
  const list = files.map(sqlStr).join(', ');
  const n = Number((await db.json(`SELECT count(*) AS n FROM read_parquet([${list}])`))[0].n);
  db.close();
  const errs = [];
  if (n !== due.size) errs.push(`duckdb ${n} rows in ${files.length} files, due ${due.size}`);
  const total = md.snapshots.find((s) => s.snapshot_id === md['current-snapshot-id'] ||
    s['snapshot-id'] === md['current-snapshot-id']).summary['total-records'];
  if (total !== undefined && Number(total) !== due.size) errs.push(`summary total-records ${total}, due ${due.size}`);
  return errs;
});

await srv.stop();
fs.rmSync(tmp, { recursive: true, force: true });
done();

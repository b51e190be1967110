// Interop: iceberg-js 0.8 (an independent Iceberg REST client) against IceGate's read-only REST
// catalog on the catalog listener: listNamespaces, namespaceExists, listTables, tableExists
// (HEAD) and loadTable for each of the four tables, with a bearer token, after a shift (so
// the loaded metadata has a snapshot whose summary records the WAL position). A wrong token
// and a write (createNamespace) are refused with the REST error objects iceberg-js parses.
import { test, done, bail } from './lib/tap.mjs';
import { loadDep } from './lib/env.mjs';
import { Server } from './lib/server.mjs';

const mod = await loadDep('iceberg-js').catch(() => null);
if (!mod) bail('iceberg-js not installed (scripts/setup.sh)');
const { IcebergRestCatalog } = mod;

const TOKEN = 'interop-token';
const srv = await Server.start({
  configText: `maintain:\n  shift_interval: 0s\ncatalog:\n  rest:\n    token: ${TOKEN}\n`,
});
await srv.waitReady('catalog');

const body = JSON.stringify({ resourceLogs: [{ scopeLogs: [{ logRecords: [
  { timeUnixNano: '1768003200000000000', body: { stringValue: 'hello' } }] }] }] });
let r = await fetch(srv.url('otlp_http', '/v1/logs'), {
  method: 'POST', body, headers: { 'Content-Type': 'application/json', 'X-Scope-OrgID': 't1' } });
if (r.status !== 200) bail(`ingest ${r.status}`);
r = await fetch(srv.url('maintain', '/maintain/run?job=shift'), { method: 'POST' });
if (r.status !== 200) bail(`shift ${r.status}`);

const cat = new IcebergRestCatalog({ baseUrl: srv.url('catalog', '/'), catalogName: 'icegate', auth: { type: 'bearer', token: TOKEN } });
const TABLES = ['events', 'logs', 'metrics', 'spans'];

await test('listNamespaces / namespaceExists', async () => {
  const p = [];
  const ns = await cat.listNamespaces();
  if (JSON.stringify(ns) !== JSON.stringify([{ namespace: ['icegate'] }])) p.push(`namespaces ${JSON.stringify(ns)}`);
  if (!(await cat.namespaceExists({ namespace: ['icegate'] }))) p.push('icegate does not exist');
  if (await cat.namespaceExists({ namespace: ['nope'] })) p.push('nope exists');
  return p;
});

await test('listTables / tableExists', async () => {
  const p = [];
  const ts = await cat.listTables({ namespace: ['icegate'] });
  const names = ts.map((t) => t.name).sort();
  if (JSON.stringify(names) !== JSON.stringify(TABLES)) p.push(`tables ${JSON.stringify(ts)}`);
  for (const name of TABLES) if (!(await cat.tableExists({ namespace: ['icegate'], name }))) p.push(`${name} missing`);
  if (await cat.tableExists({ namespace: ['icegate'], name: 'nope' })) p.push('nope exists');
  return p;
});

for (const name of TABLES) {
  await test(`loadTable icegate.${name}`, async () => {
    const p = [];
    const md = await cat.loadTable({ namespace: ['icegate'], name });
    if (md['format-version'] !== 2) p.push(`format-version ${md['format-version']}`);
    if (!String(md.location).endsWith(`/icegate/${name}`)) p.push(`location ${md.location}`);
    const schema = md.schemas.find((s) => s['schema-id'] === md['current-schema-id']);
    if (!schema || schema.fields[0].name !== 'tenant_id') p.push('schema');
    if (name === 'logs') {
      const snap = md.snapshots.find((s) => s['snapshot-id'] === md['current-snapshot-id']);
      if (!snap || !snap.summary['icegate.wal-position'] || snap.summary['added-records'] !== '1') p.push(`snapshot ${JSON.stringify(snap)}`);
    }
    return p;
  });
}

await test('a wrong token and a write are refused', async () => {
  const p = [];
  const bad = new IcebergRestCatalog({ baseUrl: srv.url('catalog', '/'), catalogName: 'icegate', auth: { type: 'bearer', token: 'wrong' } });
  try {
    await bad.listNamespaces();
    p.push('listNamespaces with a wrong token succeeded');
  } catch (e) {
    if (e.status !== 401 && !/401|NotAuthorized|bearer/i.test(String(e.message))) p.push(`wrong token: ${e.message}`);
  }
  try {
    await cat.createNamespace({ namespace: ['other'] });
    p.push('createNamespace succeeded on a read-only catalog');
  } catch (e) {
    if (e.status !== 501 && !/501|read-only/i.test(String(e.message))) p.push(`write: ${e.message}`);
  }
  return p;
});

await srv.stop();
done();

// Tenant isolation over OTLP/gRPC with a real gRPC client (@grpc/grpc-js): three tenants
// export logs with the same service name and the same trace id through the x-scope-orgid
// metadata key (one of them also with x-account-id); each tenant then reads back exactly
// its own records over the Loki API and nothing of the others. Missing, invalid and
// multi-tenant (a|b) metadata are refused and store nothing. TAP output.
import { loadDep } from './lib/env.mjs';
import { Server } from './lib/server.mjs';
import { test, done, bail } from './lib/tap.mjs';

setTimeout(() => { bail('whole script did not finish within 120 s'); }, 120_000).unref();
const grpc = await loadDep('@grpc/grpc-js').catch(() => null);
if (!grpc) bail('tests/node/node_modules missing: run scripts/setup.sh (cd tests/node && npm ci)');

// ---- a tiny protobuf encoder for ExportLogsServiceRequest ----
const varint = (n) => {
  const out = [];
  let v = BigInt(n);
  do { let b = Number(v & 0x7fn); v >>= 7n; if (v) b |= 0x80; out.push(b); } while (v);
  return Buffer.from(out);
};
const field = (num, wt, payload) => Buffer.concat([varint((num << 3) | wt), payload]);
const lenField = (num, buf) => field(num, 2, Buffer.concat([varint(buf.length), buf]));
const fixed64 = (num, big) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(big); return field(num, 1, b); };
const str = (num, s) => lenField(num, Buffer.from(s));
const TRACE = Buffer.from('5b8efff798038103d269b633813fc60c', 'hex');
const T0 = BigInt(Date.now() - 30_000) * 1_000_000n;
function logsRequest(bodies) {
  const attr = lenField(1, Buffer.concat([str(1, 'service.name'), lenField(2, str(1, 'grpc-shared'))]));
  const resource = lenField(1, attr);
  const recs = bodies.map((s, i) => lenField(2, Buffer.concat([
    fixed64(1, T0 + BigInt(i)), lenField(5, str(1, s)), lenField(9, TRACE)])));
  return lenField(1, Buffer.concat([resource, lenField(2, Buffer.concat(recs))]));
}

const TENANTS = { 'g-a': 2, 'g-b': 3, 'g-c': 4 };
const mark = (t) => `MARK-${t}-MARK`;
const srv = await Server.start({ configText: 'wal:\n  flush_interval: 10ms\n' });
await srv.waitReady('otlp_grpc');
await srv.waitReady('loki');
const client = new grpc.Client(`127.0.0.1:${srv.ports.otlp_grpc}`, grpc.credentials.createInsecure());
const PATH = '/opentelemetry.proto.collector.logs.v1.LogsService/Export';

function call(md, msg) {
  const m = new grpc.Metadata();
  for (const [k, v] of Object.entries(md)) m.set(k, v);
  return new Promise((res) => {
    client.makeUnaryRequest(PATH, (b) => b, (b) => b, msg, m, { deadline: Date.now() + 10_000 },
      (err, out) => res({ err, out }));
  });
}
async function lines(tenant, account) {
  const q = new URLSearchParams({ query: '{service_name="grpc-shared"}', limit: '1000',
    start: String(T0 - 1_000_000_000n), end: String(BigInt(Date.now() + 1000) * 1_000_000n) });
  const h = { 'X-Scope-OrgID': tenant };
  if (account) h['X-Account-ID'] = account;
  const r = await fetch(srv.url('loki', `/loki/api/v1/query_range?${q}`), { headers: h });
  const text = await r.text();
  if (r.status !== 200) throw new Error(`${tenant}: ${r.status} ${text}`);
  return { text, lines: JSON.parse(text).data.result.flatMap((s) => s.values.map((v) => v[1])) };
}

await test('three tenants export over gRPC (x-scope-orgid, same service and trace id)', async () => {
  const p = [];
  for (const [t, n] of Object.entries(TENANTS)) {
    const r = await call({ 'x-scope-orgid': t }, logsRequest(Array.from({ length: n }, (_, i) => `${mark(t)} ${i}`)));
    if (r.err) p.push(`${t}: ${r.err.code} ${r.err.details}`);
  }
  const r = await call({ 'x-scope-orgid': 'g-a', 'x-account-id': 'acct-1' }, logsRequest([`${mark('g-a')} acct`]));
  if (r.err) p.push(`account: ${r.err.details}`);
  return p;
});

await test('missing, invalid and a|b tenant metadata refused', async () => {
  const p = [];
  for (const md of [{}, { 'x-scope-orgid': 'g-a|g-b' }, { 'x-scope-orgid': 'bad/tenant' }, { 'x-scope-orgid': '..' }]) {
    const r = await call(md, logsRequest([`${mark('g-a')} refused`]));
    if (!r.err) p.push(`accepted with ${JSON.stringify(md)}`);
    else if (![grpc.status.UNAUTHENTICATED, grpc.status.INVALID_ARGUMENT, grpc.status.PERMISSION_DENIED].includes(r.err.code)) p.push(`${JSON.stringify(md)}: code ${r.err.code}`);
  }
  return p;
});

await test('each tenant reads back exactly its own gRPC records, nothing foreign', async () => {
  const p = [];
  for (const [t, n] of Object.entries(TENANTS)) {
    const { text, lines: ls } = await lines(t);
    const want = n + (t === 'g-a' ? 1 : 0);
    if (ls.length !== want) p.push(`${t}: ${ls.length} lines, want ${want}`);
    if (ls.some((l) => !l.includes(mark(t)) || l.includes('refused'))) p.push(`${t}: foreign or refused line`);
    for (const o of Object.keys(TENANTS)) if (o !== t && text.includes(o)) p.push(`${t} sees ${o}`);
  }
  const acct = await lines('g-a', 'acct-1');
  if (acct.lines.length !== 1) p.push(`account acct-1: ${acct.lines.length}`);
  const other = await lines('g-b', 'acct-1');
  if (other.lines.length !== 0) p.push(`g-b acct-1: ${other.lines.length}`);
  return p;
});

client.close();
await srv.stop();
done();

// Per-tenant limits over OTLP/gRPC with a real gRPC client (@grpc/grpc-js): over the
// ingestion rate → RESOURCE_EXHAUSTED with a google.rpc.RetryInfo detail in
// grpc-status-details-bin (OTLP clients retry only then); over the storage quota →
// RESOURCE_EXHAUSTED WITHOUT RetryInfo (no retry); max_request_size → RESOURCE_EXHAUSTED
// naming the limit; other tenants unaffected. TAP output.
import fs from 'node:fs';
import path from 'node:path';
import { loadDep, tempDir } from './lib/env.mjs';
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
function logsRequest(bodies) {
  const now = BigInt(Date.now()) * 1_000_000n;
  const recs = bodies.map((s) => lenField(2, Buffer.concat([fixed64(1, now), lenField(5, lenField(1, Buffer.from(s)))])));
  const scopeLogs = lenField(2, Buffer.concat(recs));
  return lenField(1, scopeLogs); // ExportLogsServiceRequest.resource_logs
}

const ov = path.join(tempDir('limits-grpc'), 'overrides.yaml');
fs.writeFileSync(ov, `overrides:
  g-rate:
    ingestion_rate_bytes: 1000
    ingestion_burst_size_bytes: 1500
  g-quota:
    storage_quota_bytes: 1
  g-req:
    max_request_size: 1000
`);
const srv = await Server.start({ configText: `limits:\n  overrides_file: ${ov}\nwal:\n  flush_interval: 10ms\n` });
await srv.waitReady('otlp_grpc');
const client = new grpc.Client(`127.0.0.1:${srv.ports.otlp_grpc}`, grpc.credentials.createInsecure());
const PATH = '/opentelemetry.proto.collector.logs.v1.LogsService/Export';

function call(tenant, msg) {
  const md = new grpc.Metadata();
  md.set('x-scope-orgid', tenant);
  return new Promise((res) => {
    client.makeUnaryRequest(PATH, (b) => b, (b) => b, msg, md, { deadline: Date.now() + 10_000 },
      (err, out) => res({ err, out }));
  });
}
const details = (err) => {
  const v = err && err.metadata && err.metadata.get('grpc-status-details-bin');
  return v && v.length ? Buffer.from(v[0]).toString('latin1') : '';
};

await test('rate limit: RESOURCE_EXHAUSTED with RetryInfo, the message naming the limit', async () => {
  const p = [];
  const msg = logsRequest(['x'.repeat(600)]);
  const codes = [];
  let last;
  for (let i = 0; i < 5; i++) {
    last = await call('g-rate', msg);
    codes.push(last.err ? last.err.code : 0);
    if (last.err) break;
  }
  if (codes[0] !== 0) p.push(`first call should pass: ${codes}`);
  if (codes[codes.length - 1] !== grpc.status.RESOURCE_EXHAUSTED) p.push(`codes ${codes}`);
  if (last.err && !/ingestion_rate_mb/.test(last.err.details)) p.push(`message: ${last.err.details}`);
  if (!details(last.err).includes('type.googleapis.com/google.rpc.RetryInfo')) p.push('no RetryInfo detail');
  const other = await call('g-free', msg);
  if (other.err) p.push(`other tenant refused: ${other.err.details}`);
  return p;
});

await test('storage quota: RESOURCE_EXHAUSTED without RetryInfo', async () => {
  const p = [];
  const msg = logsRequest(['q'.repeat(50)]);
  const a = await call('g-quota', msg);
  if (a.err) p.push(`first call refused: ${a.err.details}`);
  const b = await call('g-quota', msg);
  if (!b.err || b.err.code !== grpc.status.RESOURCE_EXHAUSTED) p.push(`second: ${b.err && b.err.code}`);
  else {
    if (!/storage quota exceeded/.test(b.err.details) || !/storage_quota_bytes/.test(b.err.details)) p.push(`message: ${b.err.details}`);
    if (details(b.err).includes('RetryInfo')) p.push('RetryInfo present: clients would retry');
  }
  return p;
});

await test('max_request_size: RESOURCE_EXHAUSTED naming the limit, no RetryInfo', async () => {
  const p = [];
  const r = await call('g-req', logsRequest(['r'.repeat(1500)]));
  if (!r.err || r.err.code !== grpc.status.RESOURCE_EXHAUSTED) p.push(`code ${r.err && r.err.code}`);
  else {
    if (!/max_request_size/.test(r.err.details)) p.push(`message: ${r.err.details}`);
    if (details(r.err).includes('RetryInfo')) p.push('RetryInfo present');
  }
  const ok = await call('g-req', logsRequest(['r'.repeat(100)]));
  if (ok.err) p.push(`small request refused: ${ok.err.details}`);
  return p;
});

client.close();
await srv.stop();
done();

// Real Loki push clients sending to a running IceGate: pino + pino-loki (JSON, batched and
// unbatched, labels, structured metadata, tenant via `headers`) and winston +
// winston-loki (JSON with structured metadata, and protobuf+snappy), to the OTLP/HTTP
// listener's /loki/api/v1/push and to the Loki listener's. The rows read back from the WAL
// are compared with (1) the push requests the clients actually sent (captured on the way
// out and decoded) and (2) what this script logged, reconstructed the way each client
// serialises it. DESIGN §5: labels exactly (nothing added), body = the line, source =
// "loki", service_name = the service_name label or null. Negative: no tenant → 401 seen by
// the client, nothing stored, server stays up. TAP output.
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { Writable } from 'node:stream';
import { loadDep, NODE_DIR, pqtoolExists } from './lib/env.mjs';
import { Server } from './lib/server.mjs';
import { test, ok, diag, done, bail } from './lib/tap.mjs';
import { show } from './lib/json.mjs';

const WATCHDOG_MS = 120_000;
setTimeout(() => { ok(false, `whole script finished within ${WATCHDOG_MS} ms`); done(); }, WATCHDOG_MS).unref();
const TEST_MS = 20_000;

const dep = async (n) => {
  const m = await loadDep(n).catch((e) => bail(`cannot load ${n}: ${e.message} (run: cd tests/node && npm ci)`));
  if (!m) bail('tests/node/node_modules missing: run scripts/setup.sh (cd tests/node && npm ci)');
  return m.default ?? m;
};
if (!pqtoolExists()) bail('build/tools/pqtool missing: run make');

const pino = await dep('pino');
const { pinoLoki } = await loadDep('pino-loki');
const winston = await dep('winston');
const LokiTransport = await dep('winston-loki');
const requireNode = createRequire(path.join(NODE_DIR, 'package.json'));
const snappy = requireNode('snappy');
const { logproto } = requireNode(path.join(path.dirname(requireNode.resolve('winston-loki')), 'src', 'proto'));

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------- request capture
// Every push a client sends (pino-loki uses fetch, winston-loki http.request) is recorded
// with its headers, body and the answer.
const sent = [];
const origFetch = globalThis.fetch;
globalThis.fetch = async (url, init = {}) => {
  const entry = { client: 'fetch', url: String(url), headers: { ...(init.headers || {}) }, body: Buffer.from(init.body ?? '') };
  sent.push(entry);
  const res = await origFetch(url, init);
  entry.status = res.status;
  return res;
};
const origRequest = http.request;
http.request = function request(opts, cb) {
  const entry = { client: 'http', url: `${opts.hostname}:${opts.port}${opts.path}`, headers: { ...(opts.headers || {}) }, chunks: [] };
  const req = origRequest.call(this, opts, (res) => { entry.status = res.statusCode; if (cb) cb(res); });
  const w = req.write;
  req.write = function write(d, ...a) { entry.chunks.push(Buffer.from(d)); return w.call(this, d, ...a); };
  req.on('finish', () => { entry.body = Buffer.concat(entry.chunks); sent.push(entry); });
  return req;
};
const header = (h, name) => { const k = Object.keys(h).find((x) => x.toLowerCase() === name); return k === undefined ? undefined : String(h[k]); };

// ---------------------------------------------------------------- decoding and expectations
/** Prometheus-style label string `{a="b", c="d"}` (as winston-loki builds it) → object. */
function parseLabelString(s) {
  const out = {};
  const re = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?/gy;
  if (s[0] !== '{' || s[s.length - 1] !== '}') throw new Error(`bad labels ${s}`);
  const inner = s.slice(1, -1);
  re.lastIndex = 0;
  while (re.lastIndex < inner.length) {
    const m = re.exec(inner);
    if (!m) throw new Error(`bad labels ${s}`);
    out[m[1]] = JSON.parse(`"${m[2]}"`);
  }
  return out;
}

/** A captured push → streams [{labels: {}, entries: [{ns: BigInt, line, sm: {}|null}]}]. */
function decodePush(entry) {
  const ct = header(entry.headers, 'content-type') || '';
  if (ct.startsWith('application/json')) {
    const req = JSON.parse(entry.body.toString('utf8'));
    return req.streams.map((st) => ({ labels: st.stream, entries: st.values.map((v) => ({ ns: BigInt(v[0]), line: v[1], sm: v[2] ?? null })) }));
  }
  const raw = snappy.uncompressSync(entry.body);
  const req = logproto.PushRequest.decode(raw);
  return req.streams.map((st) => ({
    labels: parseLabelString(st.labels),
    entries: st.entries.map((e) => ({ ns: BigInt(String(e.timestamp.seconds)) * 1_000_000_000n + BigInt(e.timestamp.nanos || 0), line: e.line, sm: null })),
  }));
}

/** Loki's label-name normalisation of structured metadata names (docs/ingest-loki.md). */
const normName = (n) => { const x = n.replace(/[^a-zA-Z0-9_]+/g, '_'); return /^[0-9]/.test(x) ? `key_${x}` : x; };

/** Expected logs rows for the streams a client pushed. */
function expectedRows(streams, tenant) {
  const rows = [];
  for (const st of streams) {
    const labels = Object.fromEntries(Object.entries(st.labels).filter(([, v]) => v !== '' && v !== null && v !== undefined).map(([k, v]) => [k, String(v)]).sort(([a], [b]) => (a < b ? -1 : 1)));
    for (const e of st.entries) {
      rows.push({
        tenant_id: tenant,
        account_id: null,
        service_name: labels.service_name ?? null,
        timestamp: e.ns / 1000n,
        observed_timestamp: null,
        trace_id: null,
        span_id: null,
        severity_number: null,
        severity_text: null,
        body: e.line,
        event_name: null,
        flags: null,
        scope_name: null,
        scope_version: null,
        resource_attributes: labels,
        attributes: Object.fromEntries(Object.entries(e.sm || {}).map(([k, v]) => [normName(k), v])),
        source: 'loki',
      });
    }
  }
  return rows;
}

const sortedEntries = (o) => JSON.stringify(Object.entries(o || {}).sort(([a], [b]) => (a < b ? -1 : 1)));

function compare(expected, got) {
  const p = [];
  if (got.length !== expected.length) p.push(`${got.length} rows stored, expected ${expected.length}`);
  const byBody = new Map();
  for (const g of got) {
    if (byBody.has(g.body)) p.push(`two stored rows with body ${show(g.body)}`);
    byBody.set(g.body, g);
  }
  for (const e of expected) {
    const g = byBody.get(e.body);
    if (!g) { p.push(`no stored row with body ${show(e.body)}`); continue; }
    for (const [k, v] of Object.entries(e)) {
      if (!(k in g)) { p.push(`${show(e.body, 60)}: column ${k} missing`); continue; }
      if (k === 'resource_attributes' || k === 'attributes') {
        // labels / structured metadata exactly: same keys, same values, nothing added
        const gv = g[k] === null ? {} : g[k];
        if (sortedEntries(gv) !== sortedEntries(v)) p.push(`${show(e.body, 60)}: ${k} ${show(g[k])}, expected ${show(v)}`);
      } else if (show(g[k]) !== show(v)) {
        p.push(`${show(e.body, 60)}: ${k} ${show(g[k])}, expected ${show(v)}`);
      }
    }
  }
  return p;
}

// ---------------------------------------------------------------- server
let srv;
try {
  srv = await Server.start();
  await srv.waitReady('otlp_http');
  await srv.waitReady('loki');
} catch (e) {
  bail(`server did not start: ${e.message}`);
}
const startedUs = BigInt(Date.now()) * 1000n;
const pushesTo = (tenant) => sent.filter((s) => header(s.headers, 'x-scope-orgid') === tenant);

/** Lines written by pino, captured next to the Loki transport (pino.multistream). */
function lineCapture() {
  const lines = [];
  const stream = new Writable({ write(chunk, _enc, cb) { for (const l of chunk.toString('utf8').split('\n')) if (l) lines.push(l); cb(); } });
  return { lines, stream };
}
const endStream = (s) => new Promise((resolve) => { s.once('close', resolve); s.end(); });
const waitCount = (tenant, n) => srv.waitRows('logs', { tenant, pred: (r) => r.length >= n, timeoutMs: 10_000 });

// ---------------------------------------------------------------- pino + pino-loki
const PINO_LEVEL = { 10: 'debug', 20: 'debug', 30: 'info', 40: 'warning', 50: 'error', 60: 'critical' };

async function pinoCase({ tenant, batching, labels, listener }) {
  const errors = [];
  const origErr = console.error;
  console.error = (...a) => errors.push(a.map(String).join(' '));
  try {
    const transport = pinoLoki({
      host: srv.url(listener),
      headers: { 'X-Scope-OrgID': tenant },
      labels,
      propsToLabels: ['region'],
      batching: batching ? { interval: 0.3 } : false,
      timeout: 5000,
    });
    const cap = lineCapture();
    const logger = pino({ level: 'debug' }, pino.multistream([{ level: 'debug', stream: transport }, { level: 'debug', stream: cap.stream }]));
    logger.info(`pino ${tenant} plain message`);
    logger.warn({ region: 'eu-west-1', orderId: 1234, tags: ['a', 'b'] }, `pino ${tenant} with props and a label from a prop`);
    logger.error({ meta: { trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', 'user.id': 42, ctx: { a: 1 }, '1st': true } }, `pino ${tenant} with structured metadata`);
    logger.debug({ nested: { deep: { x: [1, 2, { y: null }] } }, unicode: 'é ✓ 😀', quote: 'say "hi"\n' }, `pino ${tenant} nested "quoted" ✓`);
    const n = 4;
    if (batching) await endStream(transport);
    const got = await waitCount(tenant, n);
    if (!batching) await endStream(transport);
    // unbatched pushes are not awaited by pino-loki: wait for their answers
    for (let i = 0; i < 100 && pushesTo(tenant).some((x) => x.status === undefined); i++) await sleep(50);
    return { got, lines: cap.lines, errors, n };
  } finally {
    console.error = origErr;
  }
}

function pinoLiteral(run, tenant, labels) {
  const p = [];
  if (run.lines.length !== run.n) p.push(`pino wrote ${run.lines.length} lines, expected ${run.n}`);
  for (const line of run.lines) {
    const obj = JSON.parse(line);
    const { hostname, ...rest } = obj;
    const body = JSON.stringify(rest); // pino-loki: the log object without hostname
    const g = run.got.find((r) => r.body === body);
    if (!g) { p.push(`no row with body ${show(body)}`); continue; }
    const wantLabels = { level: PINO_LEVEL[obj.level], hostname: os.hostname(), ...labels };
    if (obj.region) wantLabels.region = obj.region;
    const exp = {
      tenant_id: tenant, source: 'loki', service_name: labels.service_name ?? null,
      timestamp: BigInt(obj.time) * 1000n, severity_number: null, severity_text: null, observed_timestamp: null,
    };
    for (const [k, v] of Object.entries(exp)) if (show(g[k]) !== show(v)) p.push(`${show(body, 60)}: ${k} ${show(g[k])}, expected ${show(v)}`);
    if (sortedEntries(g.resource_attributes) !== sortedEntries(wantLabels)) p.push(`${show(body, 60)}: labels ${show(g.resource_attributes)}, expected ${show(wantLabels)}`);
    const wantSm = obj.meta ? { trace_id: obj.meta.trace_id, user_id: '42', ctx: '{"a":1}', key_1st: 'true' } : {};
    if (sortedEntries(g.attributes || {}) !== sortedEntries(wantSm)) p.push(`${show(body, 60)}: structured metadata ${show(g.attributes)}, expected ${show(wantSm)}`);
    if (!(g.ingested_timestamp >= startedUs)) p.push(`${show(body, 60)}: ingested_timestamp ${show(g.ingested_timestamp)}`);
  }
  return p;
}

const PINO_CASES = [
  { tenant: 'pino-batched', batching: true, labels: { app: 'shop', env: 'test', service_name: 'checkout' }, listener: 'otlp_http' },
  { tenant: 'pino-unbatched', batching: false, labels: { app: 'shop', component: 'cart' }, listener: 'loki' },
];
for (const c of PINO_CASES) {
  let run;
  const what = `pino-loki ${c.batching ? 'batched' : 'unbatched'} → ${c.listener} /loki/api/v1/push`;
  await test(`${what}: pushes succeed (client saw 2xx, no errors)`, async () => {
    run = await pinoCase(c);
    const p = run.errors.map((e) => `client error: ${e}`);
    const pushes = pushesTo(c.tenant);
    if (!pushes.length) p.push('no push captured');
    for (const s of pushes) if (s.status !== 204 && s.status !== 200) p.push(`push answered ${s.status}`);
    if (c.batching && pushes.length > 2) p.push(`batching: ${pushes.length} pushes for ${run.n} lines`);
    diag(`${what}: ${pushes.length} push request(s)`);
    return p;
  }, { timeoutMs: TEST_MS });
  if (!run) continue;
  await test(`${what}: stored rows equal the pushed streams (labels exactly, line, time, structured metadata)`, () => {
    const exp = pushesTo(c.tenant).flatMap((s) => expectedRows(decodePush(s), c.tenant));
    return compare(exp, run.got);
  });
  await test(`${what}: stored rows hold what was logged (pino line minus hostname, level/hostname/labels, ms time)`, () => pinoLiteral(run, c.tenant, c.labels));
}

// ---------------------------------------------------------------- winston + winston-loki
async function winstonCase({ tenant, json, listener, labels }) {
  const errors = [];
  const transport = new LokiTransport({
    host: srv.url(listener),
    headers: { 'X-Scope-OrgID': tenant },
    labels,
    json,
    batching: true,
    interval: 0.3,
    replaceTimestamp: false,
    gracefulShutdown: false,
    timeout: 5000,
    onConnectionError: (e) => errors.push(String(e && e.message)),
  });
  if (!json && transport.batcher.options.json) throw new Error('winston-loki fell back to JSON: snappy not loadable');
  const logger = winston.createLogger({ level: 'debug', format: winston.format.json(), transports: [transport] });
  const logged = [];
  // explicit ISO timestamps (ms), distinct per entry: winston-loki sends them (replaceTimestamp: false)
  const base = Date.now() - 60_000;
  const log = (level, message, meta = {}) => {
    const ms = base + logged.length * 7 + 1;
    logger.log({ level, message, timestamp: new Date(ms).toISOString(), ...meta });
    logged.push({ level, message, meta, ms });
  };
  log('info', `winston ${tenant} plain`);
  log('warn', `winston ${tenant} with meta`, { orderId: 77, flag: true, list: [1, 'two'], 'http.method': 'GET' });
  log('error', `winston ${tenant} per-entry labels`, { labels: { module: 'payments' } });
  log('debug', `winston ${tenant} unicode é ✓ 😀 "q"`, { nested: { a: { b: null } } });
  await sleep(50);
  await transport.flush();
  await transport.close();
  const got = await waitCount(tenant, logged.length);
  return { got, logged, errors };
}

/** The line winston-loki builds without a transport format: `${message} ${JSON.stringify(rest)}`. */
function winstonLiteral(run, tenant, labels, json) {
  const p = [];
  const pushed = pushesTo(tenant).flatMap((s) => decodePush(s));
  for (const l of run.logged) {
    const g = run.got.find((r) => r.body.startsWith(`${l.message} `));
    if (!g) { p.push(`no row for ${show(l.message)}`); continue; }
    // rest = info minus label/labels/timestamp/message (so level stays in it)
    const { labels: entryLabels, ...meta } = l.meta;
    const rest = { level: l.level, ...meta };
    const want = `${l.message} ${JSON.stringify(rest)}`;
    if (g.body !== want) p.push(`body ${show(g.body)}, expected ${show(want)}`);
    const wantLabels = { level: l.level, ...labels, ...(entryLabels || {}) };
    if (sortedEntries(g.resource_attributes) !== sortedEntries(wantLabels)) p.push(`${show(l.message, 50)}: labels ${show(g.resource_attributes)}, expected ${show(wantLabels)}`);
    if (g.service_name !== (labels.service_name ?? null)) p.push(`${show(l.message, 50)}: service_name ${show(g.service_name)}`);
    // JSON mode sends `rest` as structured metadata (non-strings JSON-encoded); protobuf mode none
    const wantSm = json ? Object.fromEntries(Object.entries(rest).map(([k, v]) => [normName(k), typeof v === 'string' ? v : JSON.stringify(v)])) : {};
    if (sortedEntries(g.attributes || {}) !== sortedEntries(wantSm)) p.push(`${show(l.message, 50)}: structured metadata ${show(g.attributes)}, expected ${show(wantSm)}`);
    // the timestamp is the entry's ISO timestamp (ms), as pushed
    if (g.timestamp !== BigInt(l.ms) * 1000n) p.push(`${show(l.message, 50)}: timestamp ${g.timestamp}, expected ${BigInt(l.ms) * 1000n} (logged ${new Date(l.ms).toISOString()})`);
    const e = pushed.flatMap((s) => s.entries).find((x) => x.line === g.body);
    if (!e || e.ns !== BigInt(l.ms) * 1_000_000n) p.push(`${show(l.message, 50)}: pushed time ${e && e.ns}, expected ${BigInt(l.ms) * 1_000_000n}`);
    if (g.source !== 'loki') p.push(`source ${show(g.source)}`);
  }
  return p;
}

const WINSTON_CASES = [
  { tenant: 'winston-json', json: true, listener: 'loki', labels: { app: 'billing', service_name: 'billing-svc' } },
  { tenant: 'winston-protobuf', json: false, listener: 'otlp_http', labels: { app: 'billing', job: 'worker' } },
];
for (const c of WINSTON_CASES) {
  let run;
  const what = `winston-loki ${c.json ? 'JSON' : 'protobuf+snappy'} → ${c.listener} /loki/api/v1/push`;
  await test(`${what}: pushes succeed (client saw 2xx, no errors)`, async () => {
    run = await winstonCase(c);
    const p = run.errors.map((e) => `client error: ${e}`);
    const pushes = pushesTo(c.tenant);
    if (!pushes.length) p.push('no push captured');
    for (const s of pushes) {
      if (s.status !== 204 && s.status !== 200) p.push(`push answered ${s.status}`);
      const ct = header(s.headers, 'content-type');
      if (ct !== (c.json ? 'application/json' : 'application/x-protobuf')) p.push(`content-type ${ct}`);
    }
    diag(`${what}: ${pushes.length} push request(s), ${pushes.reduce((a, s) => a + s.body.length, 0)} bytes`);
    return p;
  }, { timeoutMs: TEST_MS });
  if (!run) continue;
  await test(`${what}: stored rows equal the pushed streams (labels exactly, line, time${c.json ? ', structured metadata' : ''})`, () => {
    const exp = pushesTo(c.tenant).flatMap((s) => expectedRows(decodePush(s), c.tenant));
    return compare(exp, run.got);
  });
  await test(`${what}: stored rows hold what was logged (winston-loki line, level + labels, ms time)`, () => winstonLiteral(run, c.tenant, c.labels, c.json));
}

// ---------------------------------------------------------------- negative paths
await test('pino-loki without X-Scope-OrgID: the push is refused with 401 "no org id", nothing stored', async () => {
  const p = [];
  const before = srv.walRows('logs').length;
  const errors = [];
  const origErr = console.error;
  console.error = (...a) => errors.push(a.map(String).join(' '));
  const n0 = sent.length;
  try {
    const transport = pinoLoki({ host: srv.url('otlp_http'), labels: { app: 'notenant' }, batching: false, timeout: 5000 });
    pino(transport).info('must not be stored');
    for (let i = 0; i < 50 && !sent.slice(n0).some((s) => s.status !== undefined); i++) await sleep(50);
    for (let i = 0; i < 20 && !errors.length; i++) await sleep(50);
    await endStream(transport);
  } finally {
    console.error = origErr;
  }
  const mine = sent.slice(n0);
  if (mine.length !== 1 || mine[0].status !== 401) p.push(`pushes: ${show(mine.map((s) => s.status))}, expected one 401`);
  if (!errors.some((e) => e.includes('no org id'))) p.push(`client errors ${show(errors)} do not name "no org id"`);
  const after = srv.walRows('logs').length;
  if (after !== before) p.push(`rows ${before} -> ${after}`);
  return p;
}, { timeoutMs: TEST_MS });

await test('winston-loki (protobuf, unbatched) without X-Scope-OrgID: onConnectionError gets 401, nothing stored', async () => {
  const p = [];
  const before = srv.walRows('logs').length;
  const errs = [];
  const origErr = console.error;
  console.error = () => {};
  try {
    const transport = new LokiTransport({ host: srv.url('loki'), labels: { app: 'notenant' }, json: false, batching: false, gracefulShutdown: false, clearOnError: true, timeout: 5000, onConnectionError: (e) => errs.push(e) });
    winston.createLogger({ transports: [transport] }).info('must not be stored');
    for (let i = 0; i < 100 && !errs.length; i++) await sleep(50);
    await transport.close();
  } finally {
    console.error = origErr;
  }
  if (errs.length !== 1 || errs[0].statusCode !== 401) p.push(`errors ${show(errs.map((e) => `${e.statusCode} ${e.message}`))}, expected one 401`);
  else diag(`winston-loki error: ${errs[0].message}`);
  const after = srv.walRows('logs').length;
  if (after !== before) p.push(`rows ${before} -> ${after}`);
  return p;
}, { timeoutMs: TEST_MS });

await test('every stored row belongs to a tenant a client pushed to with a tenant header', () => {
  const tenants = new Set([...PINO_CASES, ...WINSTON_CASES].map((c) => c.tenant));
  return srv.walRows('logs').filter((r) => !tenants.has(r.tenant_id)).map((r) => `row of tenant ${show(r.tenant_id)}: ${show(r.body, 80)}`);
});

await test('server still ready after the clients; stops on SIGTERM with exit code 0', async () => {
  const p = [];
  for (const l of ['otlp_http', 'loki']) {
    const r = await origFetch(srv.url(l, '/ready'), { signal: AbortSignal.timeout(5000) }).catch((e) => ({ status: e.message }));
    if (r.status !== 200) p.push(`${l} /ready: ${r.status}`);
  }
  const code = await srv.stop('SIGTERM', 30_000);
  if (srv.stopTimedOut) p.push('did not exit within 30 s of SIGTERM (killed)');
  if (code !== 0) p.push(`exit code ${show(code)} signal ${show(srv.exitSignal)}; log tail: ${srv.logText().slice(-800)}`);
  return p;
}, { timeoutMs: 40_000 });

done();

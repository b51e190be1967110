// Real OpenTelemetry JS SDKs and exporters sending to a running IceGate: logs, traces and
// metrics over OTLP/HTTP JSON (exporter-*-otlp-http), OTLP/HTTP protobuf
// (exporter-*-otlp-proto) and OTLP/gRPC (exporter-*-otlp-grpc), one tenant per
// combination; the rows read back from the WAL segments (pqtool) are compared field by
// field with what the client sent: (1) rows computed from the OTLP/JSON form of the
// exported batch (the SDK's own serializer, the same request object every exporter
// encodes) and (2) the literal values this script emitted. Negative paths: missing or
// invalid tenant → the real exporter reports a failure (401 / UNAUTHENTICATED, 400 /
// INVALID_ARGUMENT), nothing is stored, the server stays up. TAP output.
import { loadDep, pqtoolExists } from './lib/env.mjs';
import { Server } from './lib/server.mjs';
import { test, ok, diag, done, bail } from './lib/tap.mjs';
import { parseJson, show } from './lib/json.mjs';
import { expectLogs, expectSpans, expectMetrics, compareRows, checkAttrs, checkText, attrKey, S, J } from './lib/otlpexpect.mjs';

const WATCHDOG_MS = 150_000;
setTimeout(() => { ok(false, `whole script finished within ${WATCHDOG_MS} ms`); done(); }, WATCHDOG_MS).unref();

const dep = async (n) => {
  const m = await loadDep(n).catch((e) => bail(`cannot load ${n}: ${e.message} (run: cd tests/node && npm ci)`));
  if (!m) bail('tests/node/node_modules missing: run scripts/setup.sh (cd tests/node && npm ci)');
  return m;
};
if (!pqtoolExists()) bail('build/tools/pqtool missing: run make');

const api = await dep('@opentelemetry/api');
const { LoggerProvider, BatchLogRecordProcessor } = await dep('@opentelemetry/sdk-logs');
const { BasicTracerProvider, SimpleSpanProcessor } = await dep('@opentelemetry/sdk-trace-base');
const { MeterProvider, PeriodicExportingMetricReader, AggregationType } = await dep('@opentelemetry/sdk-metrics');
const { resourceFromAttributes } = await dep('@opentelemetry/resources');
const { JsonLogsSerializer, JsonTraceSerializer, JsonMetricsSerializer } = await dep('@opentelemetry/otlp-transformer');
const { AggregationTemporalityPreference } = await dep('@opentelemetry/exporter-metrics-otlp-http');
const grpc = await dep('@grpc/grpc-js');
const { SeverityNumber } = await dep('@opentelemetry/api-logs');

const SIGNALS = {
  logs: { pkg: 'logs', cls: 'OTLPLogExporter', path: '/v1/logs', ser: JsonLogsSerializer },
  traces: { pkg: 'trace', cls: 'OTLPTraceExporter', path: '/v1/traces', ser: JsonTraceSerializer },
  metrics: { pkg: 'metrics', cls: 'OTLPMetricExporter', path: '/v1/metrics', ser: JsonMetricsSerializer },
};
// transports; `compression` varies so gzip bodies / gRPC messages are exercised too
const TRANSPORTS = {
  'http-json': { suffix: 'http' },
  'http-protobuf': { suffix: 'proto' },
  grpc: { suffix: 'grpc' },
};
const COMPRESSION = {
  'logs/http-json': 'gzip', 'logs/grpc': 'gzip', 'traces/http-protobuf': 'gzip', 'metrics/grpc': 'gzip',
};
const TEST_MS = 25_000;

// ---------------------------------------------------------------- diag capture
const diagMessages = [];
api.diag.setLogger({
  error: (...a) => diagMessages.push(`error: ${a.map(String).join(' ')}`),
  warn: (...a) => diagMessages.push(`warn: ${a.map(String).join(' ')}`),
  info: () => {}, debug: () => {}, verbose: () => {},
}, api.DiagLogLevel.WARN);

// ---------------------------------------------------------------- server
let srv;
try {
  srv = await Server.start();
  await srv.waitReady('otlp_http');
  await srv.waitReady('otlp_grpc');
} catch (e) {
  bail(`server did not start: ${e.message}`);
}
const startedUs = BigInt(Date.now()) * 1000n;

// ---------------------------------------------------------------- exporters
const exporterModules = {};
async function makeExporter(signal, transport, tenant, { compression } = {}) {
  const s = SIGNALS[signal];
  const pkg = `@opentelemetry/exporter-${s.pkg}-otlp-${TRANSPORTS[transport].suffix}`;
  exporterModules[pkg] ??= await dep(pkg);
  const Cls = exporterModules[pkg][s.cls];
  const opts = { timeoutMillis: 10_000 };
  if (compression) opts.compression = compression;
  if (signal === 'metrics') opts.temporalityPreference = transport === 'http-protobuf' ? AggregationTemporalityPreference.DELTA : AggregationTemporalityPreference.CUMULATIVE;
  if (transport === 'grpc') {
    opts.url = `http://${srv.hostPort('otlp_grpc')}`;
    if (tenant !== undefined) {
      const md = new grpc.Metadata();
      md.set('x-scope-orgid', tenant);
      opts.metadata = md;
    }
  } else {
    opts.url = srv.url('otlp_http', s.path);
    if (tenant !== undefined) opts.headers = { 'X-Scope-OrgID': tenant };
  }
  return new Cls(opts);
}

/** Wraps an exporter: records every exported batch, its result and in-flight promise. */
function recording(inner) {
  const rec = { batches: [], results: [], pending: new Set() };
  rec.exporter = new Proxy(inner, {
    get(t, p) {
      if (p === 'export') {
        return (items, cb) => {
          rec.batches.push(items);
          let resolve;
          const pr = new Promise((r) => { resolve = r; });
          rec.pending.add(pr);
          t.export(items, (res) => {
            rec.results.push(res);
            rec.pending.delete(pr);
            resolve();
            cb(res);
          });
        };
      }
      const v = t[p];
      return typeof v === 'function' ? v.bind(t) : v;
    },
  });
  rec.settle = async () => { while (rec.pending.size) await Promise.all([...rec.pending]); };
  return rec;
}

function resultProblems(rec, minBatches = 1) {
  const p = [];
  if (rec.batches.length < minBatches) p.push(`exporter called ${rec.batches.length} times, expected at least ${minBatches}`);
  if (rec.results.length !== rec.batches.length) p.push(`${rec.batches.length} exports, ${rec.results.length} results`);
  rec.results.forEach((r, i) => {
    if (r.code !== 0) p.push(`export ${i}: FAILED: ${r.error && (r.error.stack || r.error.message || r.error)} code=${r.error && r.error.code} data=${r.error && r.error.data}`);
  });
  return p;
}

/** The exported batches as OTLP/JSON requests (BigInt-safe parse). */
const wireRequests = (signal, rec) => rec.batches.map((b) => parseJson(new TextDecoder().decode(SIGNALS[signal].ser.serializeRequest(b))));

// ---------------------------------------------------------------- emitted data
const T = BigInt(Math.floor(Date.now() / 1000) - 3600); // an hour ago, whole seconds
const hr = (dsec, ns) => [Number(T) + dsec, ns];
const us = (dsec, ns) => (T + BigInt(dsec)) * 1_000_000n + BigInt(Math.floor(ns / 1000));

const RECORD_ATTRS = {
  'str.attr': 'hello "world" é ✓',
  'empty.str': '',
  'int.attr': 42,
  'neg.int': -7,
  'big.int': 9007199254740991,
  'double.attr': 3.25,
  'double.tiny': 1e-7,
  'double.long': 0.1 + 0.2,
  // (a double beyond 2^63 cannot be sent: it is integral, and exporter-*-otlp-http writes it
  // as an out-of-range intValue that any OTLP/JSON server rejects)
  'double.minute': 1.5e-300,
  'bool.true': true,
  'bool.false': false,
  'arr.str': ['a', 'b"c'],
  'arr.int': [1, -2, 3],
  'arr.double': [1.5, -2.25],
  'arr.bool': [true, false],
  'arr.empty': [],
};
const RECORD_ATTRS_EXPECT = [
  ['str.attr', S('hello "world" é ✓')],
  ['empty.str', S('')],
  ['int.attr', J(42n)],
  ['neg.int', J(-7n)],
  ['big.int', J(9007199254740991n)],
  ['double.attr', J(3.25)],
  ['double.tiny', J(1e-7)],
  ['double.long', J(0.30000000000000004)],
  ['double.minute', J(1.5e-300)],
  ['bool.true', J(true)],
  ['bool.false', J(false)],
  ['arr.str', J(['a', 'b"c'])],
  ['arr.int', J([1n, -2n, 3n])],
  ['arr.double', J([1.5, -2.25])],
  ['arr.bool', J([true, false])],
  ['arr.empty', J([])],
];
const resourceAttrs = (service) => ({
  'service.name': service,
  'service.instance.id': `${service}-1`,
  'deployment.environment': 'interop',
  'res.int': 7,
  'res.double': 0.25,
  'res.bool': false,
  'res.array': ['x', 'y'],
});
const resourceExpect = (service) => [
  ['service.name', S(service)],
  ['service.instance.id', S(`${service}-1`)],
  ['deployment.environment', S('interop')],
  ['res.int', J(7n)],
  ['res.double', J(0.25)],
  ['res.bool', J(false)],
  ['res.array', J(['x', 'y'])],
];
const TRACE_ID = '5b8efff798038103d269b633813fc60c';
const SPAN_ID = 'eee19b7ec3c1b174';
const REMOTE = (traceFlags, traceState) => ({ traceId: TRACE_ID, spanId: SPAN_ID, traceFlags, isRemote: true, traceState });

function problemsFromLiteral(label, got, expectObj) {
  const p = [];
  for (const [k, v] of Object.entries(expectObj)) {
    if (k.endsWith('attributes')) checkAttrs(`${label}: ${k}`, got[k], v, p);
    else if (k === 'body') { const e = checkText(got.body, v); if (e) p.push(`${label}: body: ${e}`); } else if (show(got[k]) !== show(v)) p.push(`${label}: ${k}: expected ${show(v)}, got ${show(got[k])}`);
  }
  return p;
}

// ---------------------------------------------------------------- logs
async function runLogs(transport, tenant, service) {
  const rec = recording(await makeExporter('logs', transport, tenant, { compression: COMPRESSION[`logs/${transport}`] }));
  const lp = new LoggerProvider({
    resource: resourceFromAttributes(resourceAttrs(service)),
    processors: [new BatchLogRecordProcessor({ exporter: rec.exporter, scheduledDelayMillis: 60_000 })],
  });
  const logger = lp.getLogger('interop.logs', '1.4.2', { schemaUrl: 'https://opentelemetry.io/schemas/1.24.0', attributes: { 'scope.attr': 'sv', 'scope.int': 5 } });
  const ctxSampled = api.trace.setSpanContext(api.ROOT_CONTEXT, REMOTE(1));
  const ctxUnsampled = api.trace.setSpanContext(api.ROOT_CONTEXT, { ...REMOTE(0), spanId: 'aaaabbbbccccdddd' });
  const emitted = [
    { key: us(0, 123_456_789), rec: { body: `plain line via ${transport}`, severityNumber: SeverityNumber.INFO, severityText: 'INFO', timestamp: hr(0, 123_456_789), observedTimestamp: hr(0, 223_456_999), attributes: RECORD_ATTRS, context: ctxSampled },
      expect: { body: S(`plain line via ${transport}`), severity_number: 9n, severity_text: 'INFO', observed_timestamp: us(0, 223_456_999), trace_id: TRACE_ID, span_id: SPAN_ID, flags: 1n, event_name: null, attributes: RECORD_ATTRS_EXPECT } },
    { key: us(1, 5_000), rec: { body: { msg: 'structured', count: 3, ratio: 0.5, ok: true, tags: ['a', 1, 2.5, null], nested: { k: 'v', deep: { n: -1 } }, raw: new Uint8Array([0, 255, 16]) }, severityNumber: SeverityNumber.ERROR, severityText: 'ERROR', timestamp: hr(1, 5_000), eventName: 'app.login', attributes: { 'only.one': 'x', 'map.attr': { a: 1, b: 'two' }, 'bytes.attr': new Uint8Array([1, 2, 3]) } },
      expect: { body: J(new Map([['msg', 'structured'], ['count', 3n], ['ratio', 0.5], ['ok', true], ['tags', ['a', 1n, 2.5, null]], ['nested', new Map([['k', 'v'], ['deep', new Map([['n', -1n]])]])], ['raw', 'AP8Q']])), severity_number: 17n, severity_text: 'ERROR', trace_id: null, span_id: null, flags: null, event_name: 'app.login', attributes: [['only.one', S('x')], ['map.attr', J(new Map([['a', 1n], ['b', 'two']]))], ['bytes.attr', S('AQID')]] } },
    { key: us(2, 999), rec: { body: 'multi\nline ✓ 😀\ttab', severityNumber: SeverityNumber.WARN2, severityText: 'warning', timestamp: hr(2, 999), context: ctxUnsampled },
      expect: { body: S('multi\nline ✓ 😀\ttab'), severity_number: 14n, severity_text: 'warning', trace_id: TRACE_ID, span_id: 'aaaabbbbccccdddd', flags: null, attributes: [] } },
    { key: us(3, 0), rec: { body: 'no severity', timestamp: hr(3, 0), attributes: { 'event.name': 'legacy.evt', 'event.domain': 'dom' } },
      expect: { body: S('no severity'), severity_number: null, severity_text: null, event_name: 'legacy.evt' } },
    // (a record without time cannot be made with the SDK: it sets timeUnixNano to now)
    { key: us(4, 777_999), rec: { body: 'observed time only', severityNumber: SeverityNumber.FATAL4, timestamp: hr(4, 777_999), observedTimestamp: hr(4, 777_999), attributes: { 'k.null.arr': ['a', null] } },
      expect: { body: S('observed time only'), observed_timestamp: us(4, 777_999), severity_number: 24n, severity_text: null, attributes: [['k.null.arr', J(['a', null])]] } },
  ];
  for (const e of emitted) logger.emit(e.rec);
  await lp.forceFlush();
  await rec.settle();
  await lp.shutdown();
  await rec.settle();
  return { rec, emitted };
}

async function logsCombo(transport) {
  const tenant = `otel-logs-${transport}`;
  const service = `svc-logs-${transport}`;
  let run;
  await test(`logs ${transport}: LoggerProvider + exporter-logs-otlp-${TRANSPORTS[transport].suffix} export succeeds (compression ${COMPRESSION[`logs/${transport}`] || 'none'})`, async () => {
    const d0 = diagMessages.length;
    run = await runLogs(transport, tenant, service);
    const p = resultProblems(run.rec);
    const n = run.rec.batches.reduce((a, b) => a + b.length, 0);
    if (n !== run.emitted.length) p.push(`exported ${n} records, emitted ${run.emitted.length}`);
    for (const m of diagMessages.slice(d0)) p.push(`exporter diag: ${m}`);
    return p;
  }, { timeoutMs: TEST_MS });
  if (!run) return;
  const got = srv.walRows('logs', { tenant });
  await test(`logs ${transport}: stored rows equal the exported OTLP records field by field`, () => {
    const exp = wireRequests('logs', run.rec).flatMap((r) => expectLogs(r, tenant).logs);
    const p = compareRows('logs', exp, got, (r) => String(r.timestamp));
    for (const r of got) {
      if (!(typeof r.ingested_timestamp === 'bigint' && r.ingested_timestamp >= startedUs && r.ingested_timestamp <= BigInt(Date.now()) * 1000n + 1000n)) p.push(`ingested_timestamp ${show(r.ingested_timestamp)} not within the test run`);
    }
    return p;
  });
  await test(`logs ${transport}: stored rows hold the literal values emitted (body, severity, ids, attributes, resource, scope)`, () => {
    const p = [];
    for (const e of run.emitted) {
      const g = got.find((r) => r.timestamp === e.key);
      if (!g) { p.push(`no row with timestamp ${e.key}`); continue; }
      p.push(...problemsFromLiteral(`log @${e.key}`, g, {
        tenant_id: tenant, account_id: null, service_name: service, source: 'otlp',
        scope_name: 'interop.logs', scope_version: '1.4.2',
        scope_attributes: [['scope.attr', S('sv')], ['scope.int', J(5n)]],
        resource_attributes: resourceExpect(service),
        ...e.expect,
      }));
    }
    return p;
  });
  await test(`logs ${transport}: records with an event name (eventName field, legacy event.name) are also in events`, () => {
    const gotEv = srv.walRows('events', { tenant });
    const exp = wireRequests('logs', run.rec).flatMap((r) => expectLogs(r, tenant).events);
    const p = compareRows('events', exp, gotEv, (r) => String(r.timestamp));
    if (exp.length !== 2) p.push(`expected 2 event records in the request, found ${exp.length}`);
    const byName = Object.fromEntries(gotEv.map((r) => [r.event_name, r]));
    if (byName['app.login'] && byName['app.login'].event_domain !== 'app') p.push(`app.login event_domain ${show(byName['app.login'].event_domain)}, expected "app"`);
    if (byName['legacy.evt'] && byName['legacy.evt'].event_domain !== 'dom') p.push(`legacy.evt event_domain ${show(byName['legacy.evt'].event_domain)}, expected "dom"`);
    return p;
  });
}

// ---------------------------------------------------------------- traces
async function runTraces(transport, tenant, service) {
  const rec = recording(await makeExporter('traces', transport, tenant, { compression: COMPRESSION[`traces/${transport}`] }));
  const tp = new BasicTracerProvider({ resource: resourceFromAttributes(resourceAttrs(service)), spanProcessors: [new SimpleSpanProcessor(rec.exporter)] });
  const tracer = tp.getTracer('interop.traces', '2.0.1');
  const ids = {};
  // parent: SERVER, all attribute types, an event, a link to a remote context, ERROR status
  const parent = tracer.startSpan('GET /parent', {
    kind: api.SpanKind.SERVER,
    startTime: hr(0, 100_000_500),
    attributes: RECORD_ATTRS,
    links: [{ context: { traceId: 'aa'.repeat(16), spanId: 'bb'.repeat(8), traceFlags: 1, isRemote: true, traceState: api.createTraceState('vendor=lnk') }, attributes: { 'link.attr': 'l', 'link.int': 9 } }],
  }, api.ROOT_CONTEXT);
  parent.addEvent('parent.event', { 'ev.s': 'x', 'ev.i': 1, 'ev.arr': [true] }, hr(0, 150_000_999));
  parent.setStatus({ code: api.SpanStatusCode.ERROR, message: 'boom' });
  const pctx = api.trace.setSpan(api.ROOT_CONTEXT, parent);
  // child: CLIENT, OK status, a link added later, two events
  const child = tracer.startSpan('child op', { kind: api.SpanKind.CLIENT, startTime: hr(0, 200_000_000) }, pctx);
  child.addEvent('first', hr(0, 210_000_000));
  child.addEvent('second', { n: 2 }, hr(0, 220_000_001));
  child.addLink({ context: parent.spanContext(), attributes: { why: 'self-parent' } });
  child.setAttribute('db.rows', 12);
  child.setStatus({ code: api.SpanStatusCode.OK });
  child.end(hr(0, 300_000_001));
  // grandchild: INTERNAL, UNSET status, zero duration
  const gc = tracer.startSpan('grandchild', { kind: api.SpanKind.INTERNAL, startTime: hr(0, 250_000_000) }, api.trace.setSpan(api.ROOT_CONTEXT, child));
  gc.end(hr(0, 250_000_000));
  parent.end(hr(1, 5));
  // a span under a remote parent with a trace state; PRODUCER / CONSUMER kinds
  const remoteCtx = api.trace.setSpanContext(api.ROOT_CONTEXT, REMOTE(1, api.createTraceState('vendor=v1,other=o2')));
  const prod = tracer.startSpan('publish', { kind: api.SpanKind.PRODUCER, startTime: hr(2, 0) }, remoteCtx);
  prod.recordException(new Error('exploded'), hr(2, 1000));
  prod.end(hr(2, 7_000_000));
  const cons = tracer.startSpan('consume', { kind: api.SpanKind.CONSUMER, startTime: hr(3, 1), links: [{ context: prod.spanContext() }] }, api.ROOT_CONTEXT);
  cons.end(hr(3, 2));
  for (const [n, s] of Object.entries({ parent, child, gc, prod, cons })) ids[n] = s.spanContext();
  await tp.forceFlush();
  await rec.settle();
  await tp.shutdown();
  await rec.settle();
  return { rec, ids };
}

async function tracesCombo(transport) {
  const tenant = `otel-traces-${transport}`;
  const service = `svc-traces-${transport}`;
  let run;
  await test(`traces ${transport}: BasicTracerProvider + exporter-trace-otlp-${TRANSPORTS[transport].suffix} export succeeds (compression ${COMPRESSION[`traces/${transport}`] || 'none'})`, async () => {
    const d0 = diagMessages.length;
    run = await runTraces(transport, tenant, service);
    const p = resultProblems(run.rec);
    const n = run.rec.batches.reduce((a, b) => a + b.length, 0);
    if (n !== 5) p.push(`exported ${n} spans, expected 5`);
    for (const m of diagMessages.slice(d0)) p.push(`exporter diag: ${m}`);
    return p;
  }, { timeoutMs: TEST_MS });
  if (!run) return;
  const got = srv.walRows('spans', { tenant });
  await test(`traces ${transport}: stored spans equal the exported spans field by field (ids, times, kind, status, events, links)`, () => {
    const exp = wireRequests('traces', run.rec).flatMap((r) => expectSpans(r, tenant));
    return compareRows('spans', exp, got, (r) => r.span_id);
  });
  await test(`traces ${transport}: stored spans hold the literal values emitted (tree, kinds, status, durations, events, links)`, () => {
    const p = [];
    const { ids } = run;
    const row = (n) => got.find((r) => r.span_id === ids[n].spanId);
    const common = { tenant_id: tenant, account_id: null, service_name: service, scope_name: 'interop.traces', scope_version: '2.0.1', resource_attributes: resourceExpect(service) };
    const lit = {
      parent: { ...common, trace_id: ids.parent.traceId, parent_span_id: null, name: 'GET /parent', kind: 2n, status_code: 2n, status_message: 'boom', timestamp: us(0, 100_000_500), end_timestamp: us(1, 5), duration_nanos: 899_999_505n, flags: 0x101n, attributes: RECORD_ATTRS_EXPECT },
      child: { ...common, trace_id: ids.parent.traceId, parent_span_id: ids.parent.spanId, name: 'child op', kind: 3n, status_code: 1n, status_message: null, duration_nanos: 100_000_001n, attributes: [['db.rows', J(12n)]] },
      gc: { ...common, trace_id: ids.parent.traceId, parent_span_id: ids.child.spanId, name: 'grandchild', kind: 1n, status_code: 0n, duration_nanos: 0n, timestamp: us(0, 250_000_000), end_timestamp: us(0, 250_000_000) },
      prod: { ...common, trace_id: TRACE_ID, parent_span_id: SPAN_ID, name: 'publish', kind: 4n, trace_state: 'vendor=v1,other=o2', flags: 0x301n, duration_nanos: 7_000_000n },
      cons: { ...common, name: 'consume', kind: 5n, parent_span_id: null, duration_nanos: 1n, timestamp: us(3, 1), end_timestamp: us(3, 2) },
    };
    for (const [n, e] of Object.entries(lit)) {
      const g = row(n);
      if (!g) { p.push(`${n}: not stored`); continue; }
      p.push(...problemsFromLiteral(n, g, e));
    }
    const par = row('parent');
    if (par) {
      const ev = par.events || [];
      if (ev.length !== 1 || ev[0].name !== 'parent.event' || ev[0].timestamp !== us(0, 150_000_999)) p.push(`parent events ${show(ev)}`);
      else checkAttrs('parent event attributes', ev[0].attributes, [['ev.s', S('x')], ['ev.i', J(1n)], ['ev.arr', J([true])]], p);
      const ln = par.links || [];
      if (ln.length !== 1 || ln[0].trace_id !== 'aa'.repeat(16) || ln[0].span_id !== 'bb'.repeat(8) || ln[0].trace_state !== 'vendor=lnk' || ln[0].flags !== 0x301n) p.push(`parent links ${show(ln)}`);
      else checkAttrs('parent link attributes', ln[0].attributes, [['link.attr', S('l')], ['link.int', J(9n)]], p);
    }
    const ch = row('child');
    if (ch) {
      const names = (ch.events || []).map((e) => `${e.name}@${e.timestamp}`);
      const want = [`first@${us(0, 210_000_000)}`, `second@${us(0, 220_000_001)}`];
      if (names.join() !== want.join()) p.push(`child events ${show(names)}, expected ${show(want)}`);
      const ln = ch.links || [];
      if (ln.length !== 1 || ln[0].span_id !== ids.parent.spanId || ln[0].trace_id !== ids.parent.traceId) p.push(`child links ${show(ln)}`);
    }
    const pr = row('prod');
    if (pr) {
      const ex = (pr.events || [])[0];
      if (!ex || ex.name !== 'exception' || ex.timestamp !== us(2, 1000)) p.push(`publish exception event ${show(ex)}`);
      else {
        const a = ex.attributes || {};
        if (a['exception.message'] !== 'exploded' || a['exception.type'] !== 'Error' || !String(a['exception.stacktrace'] || '').includes('exploded')) p.push(`exception attributes ${show(a)}`);
      }
    }
    const co = row('cons');
    if (co && ((co.links || []).length !== 1 || co.links[0].span_id !== ids.prod.spanId)) p.push(`consume links ${show(co.links)}`);
    return p;
  });
}

// ---------------------------------------------------------------- metrics
async function runMetrics(transport, tenant, service) {
  const rec = recording(await makeExporter('metrics', transport, tenant, { compression: COMPRESSION[`metrics/${transport}`] }));
  const reader = new PeriodicExportingMetricReader({ exporter: rec.exporter, exportIntervalMillis: 600_000, exportTimeoutMillis: 10_000 });
  const mp = new MeterProvider({
    resource: resourceFromAttributes(resourceAttrs(service)),
    readers: [reader],
    views: [{ instrumentName: 'exp.latency', aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM, options: { maxSize: 160 } } }],
  });
  const meter = mp.getMeter('interop.metrics', '3.1.0');
  const counter = meter.createCounter('http.requests', { description: 'requests served', unit: '{request}' });
  counter.add(5, { route: '/a', code: 200 });
  counter.add(2, { route: '/b', code: 500 });
  counter.add(3, { route: '/a', code: 200 });
  const bytes = meter.createCounter('bytes.sent', { unit: 'By', valueType: api.ValueType.INT });
  bytes.add(1024, { peer: 'p1' });
  bytes.add(1, { peer: 'p1' });
  const updown = meter.createUpDownCounter('queue.depth', { description: 'items queued' });
  updown.add(10, { queue: 'q1' });
  updown.add(-3.5, { queue: 'q1' });
  const hist = meter.createHistogram('http.latency', { unit: 'ms', advice: { explicitBucketBoundaries: [1, 5, 10] } });
  for (const v of [0.5, 3, 3, 7, 20]) hist.record(v, { route: '/a' });
  const exph = meter.createHistogram('exp.latency', { unit: 's' });
  for (const v of [0.001, 0.002, 4, 1000]) exph.record(v);
  const gauge = meter.createObservableGauge('room.temperature', { unit: 'Cel', description: 'temperature' });
  gauge.addCallback((r) => { r.observe(21.5, { room: 'a' }); r.observe(-3, { room: 'b' }); });
  const ogauge = meter.createGauge('sync.gauge', { valueType: api.ValueType.INT });
  ogauge.record(-42, { k: 'v' });
  await mp.forceFlush();
  await rec.settle();
  await mp.shutdown();
  await rec.settle();
  return { rec };
}

async function metricsCombo(transport) {
  const tenant = `otel-metrics-${transport}`;
  const service = `svc-metrics-${transport}`;
  let run;
  await test(`metrics ${transport}: MeterProvider + exporter-metrics-otlp-${TRANSPORTS[transport].suffix} export succeeds (compression ${COMPRESSION[`metrics/${transport}`] || 'none'})`, async () => {
    const d0 = diagMessages.length;
    run = await runMetrics(transport, tenant, service);
    const p = resultProblems(run.rec);
    for (const m of diagMessages.slice(d0)) p.push(`exporter diag: ${m}`);
    return p;
  }, { timeoutMs: TEST_MS });
  if (!run) return;
  const got = srv.walRows('metrics', { tenant });
  const key = (r) => `${r.metric_name}|${r.timestamp}|${attrKey(r.attributes)}`;
  await test(`metrics ${transport}: stored points equal the exported points field by field (types, temporality, values, buckets)`, () => {
    const exp = wireRequests('metrics', run.rec).flatMap((r) => expectMetrics(r, tenant));
    return compareRows('metrics', exp, got, key);
  });
  await test(`metrics ${transport}: stored points hold the literal values recorded`, () => {
    const p = [];
    const delta = transport === 'http-protobuf';
    // the first collection (forceFlush) holds all recorded values; shutdown may export again
    const first = (name, attrs) => got.filter((r) => r.metric_name === name && attrKey(r.attributes) === attrKey(attrs)).sort((a, b) => (a.timestamp < b.timestamp ? -1 : 1))[0];
    const common = { tenant_id: tenant, account_id: null, service_name: service, service_instance_id: `${service}-1`, scope_name: 'interop.metrics', scope_version: '3.1.0', resource_attributes: resourceExpect(service) };
    const want = [
      ['http.requests', [['route', S('/a')], ['code', J(200n)]], { metric_type: 'sum', is_monotonic: true, aggregation_temporality: delta ? 'DELTA' : 'CUMULATIVE', value_double: 8, value_int: null, unit: '{request}', description: 'requests served' }],
      ['http.requests', [['route', S('/b')], ['code', J(500n)]], { metric_type: 'sum', value_double: 2 }],
      ['bytes.sent', [['peer', S('p1')]], { metric_type: 'sum', is_monotonic: true, value_int: 1025n, value_double: null, unit: 'By', description: null }],
      ['queue.depth', [['queue', S('q1')]], { metric_type: 'sum', is_monotonic: false, aggregation_temporality: 'CUMULATIVE', value_double: 6.5 }],
      ['http.latency', [['route', S('/a')]], { metric_type: 'histogram', aggregation_temporality: delta ? 'DELTA' : 'CUMULATIVE', is_monotonic: null, count: 5n, sum: 33.5, min: 0.5, max: 20, bucket_counts: [1n, 2n, 1n, 1n], explicit_bounds: [1, 5, 10], unit: 'ms' }],
      ['exp.latency', [], { metric_type: 'exponential_histogram', count: 4n, sum: 1004.003, min: 0.001, max: 1000, zero_count: 0n }],
      ['room.temperature', [['room', S('a')]], { metric_type: 'gauge', aggregation_temporality: null, is_monotonic: null, value_double: 21.5, unit: 'Cel', description: 'temperature' }],
      ['room.temperature', [['room', S('b')]], { metric_type: 'gauge', value_double: -3 }],
      ['sync.gauge', [['k', S('v')]], { metric_type: 'gauge', value_int: -42n, value_double: null }],
    ];
    for (const [name, attrs, fields] of want) {
      const g = first(name, attrs);
      if (!g) { p.push(`${name} ${attrKey(attrs)}: not stored`); continue; }
      const norm = { ...g };
      for (const c of ['value_double', 'sum', 'min', 'max']) if (typeof norm[c] === 'bigint') norm[c] = Number(norm[c]);
      if (Array.isArray(norm.explicit_bounds)) norm.explicit_bounds = norm.explicit_bounds.map(Number);
      p.push(...problemsFromLiteral(`${name} ${attrKey(attrs)}`, norm, { ...common, attributes: attrs, ...fields }));
      if (g.start_timestamp === null || g.start_timestamp > g.timestamp) p.push(`${name}: start_timestamp ${show(g.start_timestamp)} not <= timestamp ${show(g.timestamp)}`);
    }
    const ex = first('exp.latency', []);
    if (ex) {
      const pos = (ex.positive_bucket_counts || []).reduce((a, b) => a + b, 0n);
      if (pos !== 4n) p.push(`exp.latency positive buckets sum to ${pos}, expected 4`);
    }
    return p;
  });
}

// ---------------------------------------------------------------- negative paths
async function negative(signal, transport, tenant, label) {
  const rec = recording(await makeExporter(signal, transport, tenant));
  const before = ['logs', 'spans', 'metrics', 'events'].map((t) => srv.walRows(t).length).join(',');
  if (signal === 'logs') {
    const lp = new LoggerProvider({ resource: resourceFromAttributes({ 'service.name': 'neg' }), processors: [new BatchLogRecordProcessor({ exporter: rec.exporter })] });
    lp.getLogger('neg').emit({ body: 'must not be stored' });
    await lp.forceFlush().catch(() => {});
    await rec.settle();
    await lp.shutdown().catch(() => {});
  } else if (signal === 'traces') {
    const tp = new BasicTracerProvider({ resource: resourceFromAttributes({ 'service.name': 'neg' }), spanProcessors: [new SimpleSpanProcessor(rec.exporter)] });
    tp.getTracer('neg').startSpan('must not be stored').end();
    await tp.forceFlush().catch(() => {});
    await rec.settle();
    await tp.shutdown().catch(() => {});
  } else {
    const reader = new PeriodicExportingMetricReader({ exporter: rec.exporter, exportIntervalMillis: 600_000, exportTimeoutMillis: 10_000 });
    const mp = new MeterProvider({ resource: resourceFromAttributes({ 'service.name': 'neg' }), readers: [reader] });
    mp.getMeter('neg').createCounter('neg.count').add(1);
    await mp.forceFlush().catch(() => {});
    await rec.settle();
    await mp.shutdown().catch(() => {});
  }
  await rec.settle();
  const p = [];
  if (!rec.results.length) p.push('exporter never reported a result');
  const want = tenant === undefined ? { http: 401, grpc: 16 } : { http: 400, grpc: 3 };
  rec.results.forEach((r, i) => {
    if (r.code === 0) { p.push(`export ${i} succeeded without a valid tenant`); return; }
    const code = r.error && r.error.code;
    const expCode = transport === 'grpc' ? want.grpc : want.http;
    if (code !== expCode) p.push(`export ${i}: error code ${show(code)}, expected ${expCode} (${r.error && r.error.message})`);
    else diag(`${label}: ${transport === 'grpc' ? 'gRPC status' : 'HTTP'} ${code}: ${String((r.error && (r.error.details || r.error.data || r.error.message)) || '').replace(/[\x00-\x1f\x7f]/g, '.').slice(0, 120)}`);
  });
  const after = ['logs', 'spans', 'metrics', 'events'].map((t) => srv.walRows(t).length).join(',');
  if (after !== before) p.push(`stored rows changed: ${before} -> ${after}`);
  return p;
}

// ---------------------------------------------------------------- run
for (const transport of Object.keys(TRANSPORTS)) await logsCombo(transport);
for (const transport of Object.keys(TRANSPORTS)) await tracesCombo(transport);
for (const transport of Object.keys(TRANSPORTS)) await metricsCombo(transport);

for (const signal of Object.keys(SIGNALS)) {
  for (const transport of Object.keys(TRANSPORTS)) {
    const label = `${signal} ${transport}`;
    await test(`${label}: exporter without X-Scope-OrgID fails (${transport === 'grpc' ? 'UNAUTHENTICATED' : '401'}), nothing stored`, () => negative(signal, transport, undefined, `${label} no tenant`), { timeoutMs: TEST_MS });
  }
}
for (const transport of Object.keys(TRANSPORTS)) {
  await test(`logs ${transport}: exporter with an invalid tenant "a/b" fails (${transport === 'grpc' ? 'INVALID_ARGUMENT' : '400'}), nothing stored`, () => negative('logs', transport, 'a/b', `logs ${transport} invalid tenant`), { timeoutMs: TEST_MS });
}

await test('server still up after the rejected exports: /ready on OTLP/HTTP and gRPC, and a new export is stored', async () => {
  const p = [];
  for (const l of ['otlp_http', 'otlp_grpc']) {
    const r = await fetch(srv.url(l, '/ready'), { signal: AbortSignal.timeout(5000) }).catch((e) => ({ status: e.message }));
    if (r.status !== 200) p.push(`${l} /ready: ${r.status}`);
  }
  if (!srv.running) p.push(`server exited: ${srv.exitCode ?? srv.exitSignal}`);
  const tenant = 'otel-after-negative';
  const rec = recording(await makeExporter('logs', 'grpc', tenant));
  const lp = new LoggerProvider({ resource: resourceFromAttributes({ 'service.name': 'after' }), processors: [new BatchLogRecordProcessor({ exporter: rec.exporter })] });
  lp.getLogger('after').emit({ body: 'still alive', timestamp: hr(5, 0) });
  await lp.forceFlush();
  await rec.settle();
  await lp.shutdown();
  p.push(...resultProblems(rec));
  const rows = srv.walRows('logs', { tenant });
  if (rows.length !== 1 || rows[0].body !== 'still alive') p.push(`rows after: ${show(rows)}`);
  return p;
}, { timeoutMs: TEST_MS });

await test('no tenant sees another tenant\'s rows: every stored row belongs to a tenant this script sent to', () => {
  const p = [];
  const tenants = new Set(['otel-after-negative']);
  for (const s of ['logs', 'traces', 'metrics']) for (const t of Object.keys(TRANSPORTS)) tenants.add(`otel-${s}-${t}`);
  for (const t of ['logs', 'spans', 'metrics', 'events']) {
    for (const r of srv.walRows(t)) if (!tenants.has(r.tenant_id)) p.push(`${t}: row of tenant ${show(r.tenant_id)}`);
  }
  for (const s of ['logs', 'traces', 'metrics']) {
    for (const t of Object.keys(TRANSPORTS)) {
      const table = s === 'traces' ? 'spans' : s;
      const svc = new Set(srv.walRows(table, { tenant: `otel-${s}-${t}` }).map((r) => r.service_name));
      if (svc.size !== 1 || !svc.has(`svc-${s}-${t}`)) p.push(`tenant otel-${s}-${t}: service names ${show([...svc])}`);
    }
  }
  return p;
});

await test('server stops on SIGTERM with exit code 0', async () => {
  const code = await srv.stop('SIGTERM', 30_000);
  const p = [];
  if (srv.stopTimedOut) p.push('did not exit within 30 s of SIGTERM (killed)');
  if (code !== 0) p.push(`exit code ${show(code)} signal ${show(srv.exitSignal)}; log tail: ${srv.logText().slice(-800)}`);
  return p;
}, { timeoutMs: 40_000 });

done();

// Loki live tail through a real WebSocket client (the `ws` package): the handshake and
// framing of src/server/websocket.c against an independent implementation. Lines pushed
// while tailing arrive in order, each once; another tenant's never; a metric query is
// refused before the upgrade (400 with Loki's text); the client's close is answered.
// TAP output.
import { loadDep } from './lib/env.mjs';
import { Server } from './lib/server.mjs';
import { test, done, bail } from './lib/tap.mjs';

const WATCHDOG_MS = 60_000;
setTimeout(() => { bail(`whole script did not finish within ${WATCHDOG_MS} ms`); }, WATCHDOG_MS).unref();
const mod = await loadDep('ws').catch((e) => bail(`cannot load ws: ${e.message} (run: cd tests/node && npm ci)`));
if (!mod) bail('tests/node/node_modules missing: run scripts/setup.sh (cd tests/node && npm ci)');
const WebSocket = mod.default ?? mod.WebSocket;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const srv = await Server.start();
try {
  await srv.waitReady('loki');
  const wsUrl = (q) => `ws://127.0.0.1:${srv.ports.loki}/loki/api/v1/tail?query=${encodeURIComponent(q)}`;
  const push = async (tenant, lines) => {
    const ts = BigInt(Date.now()) * 1_000_000n;
    const body = { streams: [{ stream: { job: 'ws' }, values: lines.map((l, i) => [String(ts + BigInt(i)), l]) }] };
    const r = await fetch(srv.url('loki', '/loki/api/v1/push'), {
      method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Scope-OrgID': tenant }, body: JSON.stringify(body),
    });
    await r.arrayBuffer();
    if (r.status !== 204) throw new Error(`push ${r.status}`);
  };

  await test('ws client: live lines in order, once, only the own tenant; close answered', async () => {
    const problems = [];
    const ws = new WebSocket(wsUrl('{job="ws"}'), { headers: { 'X-Scope-OrgID': 'wa' } });
    const got = [];
    let closeCode = null;
    ws.on('message', (data) => {
      const m = JSON.parse(data.toString());
      for (const s of m.streams || []) {
        if (s.stream.job !== 'ws') problems.push(`labels ${JSON.stringify(s.stream)}`);
        for (const [, line] of s.values) got.push(line);
      }
    });
    const closed = new Promise((r) => ws.on('close', (code) => { closeCode = code; r(); }));
    await new Promise((res, rej) => { ws.on('open', res); ws.on('error', rej); });
    const lines = Array.from({ length: 30 }, (_, i) => `ws line ${i}`);
    await push('wb', ['not for wa']);
    await push('wa', lines.slice(0, 15));
    await sleep(200);
    await push('wa', lines.slice(15));
    const end = Date.now() + 10_000;
    while (got.length < lines.length && Date.now() < end) await sleep(50);
    await sleep(2500); // one more poll: nothing doubled
    if (JSON.stringify(got) !== JSON.stringify(lines)) problems.push(`got ${JSON.stringify(got)}`);
    ws.close(1000);
    await Promise.race([closed, sleep(5000)]);
    if (closeCode !== 1000) problems.push(`close code ${closeCode}`);
    return problems;
  }, { timeoutMs: 30_000 });

  await test('ws client: a metric query is refused before the upgrade (400)', async () => {
    const ws = new WebSocket(wsUrl('count_over_time({job="ws"}[1m])'), { headers: { 'X-Scope-OrgID': 'wa' } });
    const res = await new Promise((r) => {
      ws.on('unexpected-response', (_req, resp) => {
        let b = '';
        resp.on('data', (d) => { b += d; });
        resp.on('end', () => r({ status: resp.statusCode, body: b }));
      });
      ws.on('open', () => r({ status: 101 }));
      ws.on('error', () => {});
    });
    return res.status === 400 && /only log selector is supported/.test(res.body) ? [] : [`got ${JSON.stringify(res)}`];
  }, { timeoutMs: 15_000 });
} finally {
  await srv.stop();
}
done();

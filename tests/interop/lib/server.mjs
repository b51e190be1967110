// IceGate process fixture for the Node interop scripts (the Node twin of
// tests/integration/lib/tap.py's Server): starts `icegate run` on free loopback ports
// with its own data dir, waits for /ready, reads stored rows back from the WAL segments
// with pqtool, and stops the process with SIGTERM.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { BIN, tempDir } from './env.mjs';
import { pqCat, plain } from './pqtool.mjs';

export const LISTENERS = ['OTLP_HTTP', 'OTLP_GRPC', 'LOKI', 'TEMPO', 'PROMETHEUS', 'MAINTAIN', 'CATALOG'];

/** n distinct free TCP ports on 127.0.0.1 (all held open together, then released). */
export async function freePorts(n) {
  const servers = [];
  try {
    for (let i = 0; i < n; i++) {
      const s = net.createServer();
      await new Promise((res, rej) => { s.once('error', rej); s.listen(0, '127.0.0.1', res); });
      servers.push(s);
    }
    return servers.map((s) => s.address().port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((res) => s.close(res))));
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const live = new Set();
process.on('exit', () => {
  // never leave a server behind (a crash or a bail-out of the test script)
  for (const srv of live) {
    try { srv.proc.kill('SIGKILL'); } catch { /* gone */ }
  }
});

export class Server {
  /**
   * Starts the server (does not wait for it: call waitReady()).
   * opts: env (extra environment), args (extra `run` arguments), configText (YAML written to
   * a file passed with --config), disable (listener names, e.g. ['TEMPO'], given port 0).
   */
  static async start(opts = {}) {
    const srv = new Server();
    await srv.#start(opts);
    return srv;
  }

  async #start({ env = {}, args = [], configText, disable = [] } = {}) {
    this.dir = tempDir('srv');
    this.dataDir = path.join(this.dir, 'data');
    const ports = await freePorts(LISTENERS.length);
    this.ports = {};
    const e = { ...process.env };
    LISTENERS.forEach((n, i) => {
      const p = disable.includes(n) ? 0 : ports[i];
      this.ports[n.toLowerCase()] = p;
      e[`ICEGATE_${n}_PORT`] = String(p);
    });
    e.ICEGATE_DATA_DIR = this.dataDir;
    e.ICEGATE_LISTEN_HOST = '127.0.0.1';
    Object.assign(e, env);
    const cmd = ['run', ...args];
    if (configText !== undefined) {
      const cfg = path.join(this.dir, 'config.yaml');
      fs.writeFileSync(cfg, configText);
      cmd.push('--config', cfg);
    }
    this.logFile = path.join(this.dir, 'server.log');
    const fd = fs.openSync(this.logFile, 'w');
    this.proc = spawn(BIN, cmd, { env: e, stdio: ['ignore', fd, fd] });
    fs.closeSync(fd);
    this.exitCode = undefined;
    this.exitSignal = undefined;
    this.exited = new Promise((res) => {
      this.proc.on('exit', (code, sig) => { this.exitCode = code; this.exitSignal = sig; live.delete(this); res(); });
      this.proc.on('error', (err) => { this.spawnError = err; this.exitCode = -1; live.delete(this); res(); });
    });
    live.add(this);
  }

  get running() { return this.exitCode === undefined; }

  url(listener, p = '') { return `http://127.0.0.1:${this.ports[listener]}${p}`; }

  /** host:port of a listener, as gRPC clients take it. */
  hostPort(listener) { return `127.0.0.1:${this.ports[listener]}`; }

  logText() {
    try { return fs.readFileSync(this.logFile, 'utf8'); } catch { return ''; }
  }

  /** Waits until GET /ready answers 200 on the listener (default: OTLP/HTTP). */
  async waitReady(listener = 'otlp_http', timeoutMs = 20_000) {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
      if (!this.running) throw new Error(`server exited (${this.exitCode ?? this.exitSignal}) ${this.spawnError ? this.spawnError.message : ''}: ${this.logText().slice(-2000)}`);
      try {
        const r = await fetch(this.url(listener, '/ready'), { signal: AbortSignal.timeout(1000) });
        await r.arrayBuffer();
        if (r.status === 200) return;
      } catch { /* not up yet */ }
      await sleep(50);
    }
    throw new Error(`server not ready after ${timeoutMs} ms: ${this.logText().slice(-2000)}`);
  }

  /** Every complete WAL segment file of a table (sorted by writer dir and name). */
  walFiles(table) {
    const root = path.join(this.dataDir, 'warehouse', 'wal', table);
    const out = [];
    const walk = (d) => {
      let ents;
      try { ents = fs.readdirSync(d, { withFileTypes: true }); } catch { return; }
      ents.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (const e of ents) {
        const p = path.join(d, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.name.endsWith('.parquet')) out.push(p);
      }
    };
    walk(root);
    return out;
  }

  /**
   * Rows of every complete WAL segment of a table, read back with pqtool cat, as plain
   * objects (64-bit ints as BigInt, maps as objects); optionally only one tenant's.
   */
  walRows(table, { tenant } = {}) {
    const rows = [];
    for (const f of this.walFiles(table)) rows.push(...pqCat(f).map(plain));
    return tenant === undefined ? rows : rows.filter((r) => r.tenant_id === tenant);
  }

  /** Polls walRows until pred(rows) is true (returns the rows) or the time is up (returns the last rows). */
  async waitRows(table, { tenant, pred = (rows) => rows.length > 0, timeoutMs = 10_000 } = {}) {
    const end = Date.now() + timeoutMs;
    let rows = [];
    for (;;) {
      rows = this.walRows(table, { tenant });
      if (pred(rows) || Date.now() >= end) return rows;
      await sleep(100);
    }
  }

  /** Sends a signal (default SIGTERM) and waits for the exit; SIGKILL after timeoutMs. Returns the exit code (null if killed by a signal). */
  async stop(sig = 'SIGTERM', timeoutMs = 30_000) {
    if (this.running) {
      this.proc.kill(sig);
      let timer;
      const timedOut = await Promise.race([
        this.exited.then(() => false),
        new Promise((res) => { timer = setTimeout(() => res(true), timeoutMs); }),
      ]);
      clearTimeout(timer);
      if (timedOut) {
        this.proc.kill('SIGKILL');
        await this.exited;
        this.stopTimedOut = true;
      }
    } else {
      await this.exited;
    }
    return this.exitCode;
  }
}

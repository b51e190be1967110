// Runs build/tools/pqtool (contract in the interop brief): write, cat, meta.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PQTOOL } from './env.mjs';
import { parseJson, parseJsonLines } from './json.mjs';

const TIMEOUT_MS = 180_000;

function run(args, { stdoutFile } = {}) {
  const opts = { timeout: TIMEOUT_MS, maxBuffer: 1 << 30, killSignal: 'SIGKILL' };
  let fd;
  if (stdoutFile) {
    fd = fs.openSync(stdoutFile, 'w');
    opts.stdio = ['ignore', fd, 'pipe'];
  }
  const res = spawnSync(PQTOOL, args, opts);
  if (fd !== undefined) fs.closeSync(fd);
  const cmd = `pqtool ${args.map((a) => (/[\s,]/.test(a) ? JSON.stringify(a) : a)).join(' ')}`;
  if (res.error) throw new Error(`${cmd}: ${res.error.message}`);
  if (res.status !== 0) {
    const err = String(res.stderr || '').trim().split('\n').slice(-8).join(' | ');
    throw new Error(`${cmd}: exit ${res.status ?? res.signal}: ${err}`);
  }
  return res;
}

/** pqtool write; opts: codec, level, pageVersion, dict ('on'|'off'), rowGroupRows, pageRows, bloom (array). */
export function pqWrite(schemaFile, inFile, outFile, opts = {}) {
  const a = ['write'];
  if (opts.codec) a.push('--codec', opts.codec);
  if (opts.level !== undefined) a.push('--level', String(opts.level));
  if (opts.pageVersion) a.push('--page-version', String(opts.pageVersion));
  if (opts.dict) a.push('--dict', opts.dict);
  if (opts.rowGroupRows) a.push('--row-group-rows', String(opts.rowGroupRows));
  if (opts.pageRows) a.push('--page-rows', String(opts.pageRows));
  if (opts.bloom && opts.bloom.length) a.push('--bloom', opts.bloom.join(','));
  a.push(schemaFile, inFile, outFile);
  run(a);
  return outFile;
}

/** Writes schema JSON and input JSONL next to outFile and runs pqtool write. */
export function pqWriteRows(dir, name, schema, jsonlFile, opts = {}) {
  const schemaFile = path.join(dir, `${name}.schema.json`);
  fs.writeFileSync(schemaFile, JSON.stringify(schema));
  return pqWrite(schemaFile, jsonlFile, path.join(dir, `${name}.parquet`), opts);
}

/** pqtool cat -> parsed rows (Maps, BigInt ints). */
export function pqCat(file, columns) {
  const a = ['cat'];
  if (columns) a.push('--columns', columns.join(','));
  a.push(file);
  const res = run(a);
  return parseJsonLines(res.stdout.toString('utf8'));
}

/** pqtool meta -> parsed JSON (Maps, BigInt ints). */
export function pqMeta(file) {
  const res = run(['meta', file]);
  return parseJson(res.stdout.toString('utf8').trim());
}

/** Deep conversion of parsed JSON (Maps) into plain objects, BigInts kept. */
export function plain(v) {
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [k, plain(x)]));
  if (Array.isArray(v)) return v.map(plain);
  return v;
}

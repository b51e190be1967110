// @duckdb/node-api helpers: an offline in-memory instance (no extension downloads).
import fs from 'node:fs';
import path from 'node:path';
import { loadDep } from './env.mjs';

export async function openDuckdb(tmp, { threads = 1 } = {}) {
  const duckdb = await loadDep('@duckdb/node-api');
  if (!duckdb) throw new Error('tests/node/node_modules missing: run scripts/setup.sh');
  const extDir = path.join(tmp, 'duckdb-ext');
  fs.mkdirSync(extDir, { recursive: true });
  const inst = await duckdb.DuckDBInstance.create(':memory:', {
    threads: String(threads),
    extension_directory: extDir,
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
  });
  const con = await inst.connect();
  await con.run("SET TimeZone='UTC'");
  return {
    duckdb,
    inst,
    con,
    /** rows as objects of node-api values */
    async rows(sql) {
      const r = await con.runAndReadAll(sql);
      return r.getRowObjects();
    },
    /** rows as objects of JSON-ish values (BigInt as strings) */
    async json(sql) {
      const r = await con.runAndReadAll(sql);
      return r.getRowObjectsJson();
    },
    run: (sql) => con.run(sql),
    close() {
      try { con.closeSync?.(); } catch { /* ignore */ }
      try { inst.closeSync?.(); } catch { /* ignore */ }
    },
  };
}

export const sqlStr = (s) => `'${String(s).replace(/'/g, "''")}'`;

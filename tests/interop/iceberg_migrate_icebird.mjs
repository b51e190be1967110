// Interop: the empty tables `icegate migrate` creates, opened by icebird (an independent JS
// Iceberg reader) from the metadata locations migrate reports. icebird fetches with fetch(),
// which has no file:// in Node, so file: URLs are served from disk by a small shim.
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test, done, bail } from './lib/tap.mjs';
import { BIN, tempDir, loadDep } from './lib/env.mjs';

const icebird = await loadDep('icebird').catch(() => null);
if (!icebird) bail('icebird not installed (scripts/setup.sh)');
if (!fs.existsSync(BIN)) bail(`${BIN} not built`);

const realFetch = globalThis.fetch;
globalThis.fetch = async (url, init) => {
  const u = String(url);
  if (!u.startsWith('file:')) return realFetch(url, init);
  try {
    const body = fs.readFileSync(fileURLToPath(u));
    return new Response(body, { status: 200 });
  } catch {
    return new Response('not found', { status: 404, statusText: 'Not Found' });
  }
};

const dir = tempDir('iceberg-icebird');
const out = execFileSync(BIN, ['migrate'], {
  env: { ...process.env, ICEGATE_DATA_DIR: path.join(dir, 'data') },
  encoding: 'utf8',
});
const locs = {};
for (const m of out.matchAll(/^created table icegate\.(\w+) \(metadata (\S+)\)$/gm)) locs[m[1]] = m[2];

await test('migrate reports four metadata locations', () =>
  ['logs', 'spans', 'metrics', 'events'].filter((t) => !locs[t]).map((t) => `no location for ${t}: ${out}`));

for (const [table, loc] of Object.entries(locs)) {
  await test(`icebird opens icegate.${table} (empty, v2)`, async () => {
    const problems = [];
    const tableUrl = loc.slice(0, loc.indexOf('/metadata/'));
    const md = await icebird.icebergMetadata({ tableUrl, metadataFileName: path.basename(loc) });
    if (md['format-version'] !== 2) problems.push(`format-version ${md['format-version']}`);
    if (md.location !== tableUrl) problems.push(`location ${md.location} != ${tableUrl}`);
    const schema = md.schemas.find((s) => s['schema-id'] === md['current-schema-id']);
    if (!schema) problems.push('no current schema');
    else if (schema.fields[0].name !== 'tenant_id') problems.push(`first field ${schema.fields[0].name}`);
    if (md['current-snapshot-id'] !== -1) problems.push(`current-snapshot-id ${md['current-snapshot-id']}`);
    // An empty table has no snapshot: icebird must say exactly that, not fail elsewhere.
    try {
      await icebird.icebergManifests(md);
      problems.push('icebergManifests succeeded on a table without snapshots');
    } catch (e) {
      if (!/No current snapshot/.test(String(e.message))) problems.push(`unexpected error: ${e.message}`);
    }
    return problems;
  });
}

done();

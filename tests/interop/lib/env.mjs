// Paths and temp dirs shared by the interop scripts and benchmarks.
// Environment (set by scripts/test.sh): ICEGATE_TOOLS, ICEGATE_BIN, SHARED_DIR.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(here, '..', '..', '..');
export const TOOLS = process.env.ICEGATE_TOOLS || path.join(REPO, 'build', 'tools');
export const BIN = process.env.ICEGATE_BIN || path.join(REPO, 'build', 'icegate');
export const SHARED = process.env.SHARED_DIR || path.resolve(REPO, '..', 'shared');
export const PQTOOL = path.join(TOOLS, 'pqtool');
export const NODE_DIR = path.join(REPO, 'tests', 'node');

/** A fresh temp dir removed at exit (unless KEEP_TMP=1, for debugging). */
export function tempDir(prefix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `icegate-${prefix}-`));
  if (!process.env.KEEP_TMP) {
    process.on('exit', () => {
      try { fs.rmSync(dir, { recursive: true, force: true }); } catch { /* best effort */ }
    });
  } else {
    process.stderr.write(`# KEEP_TMP: ${dir}\n`);
  }
  return dir;
}

/** Imports an npm package installed in tests/node/node_modules, or null if not installed. */
export async function loadDep(name) {
  if (!fs.existsSync(path.join(NODE_DIR, 'node_modules'))) return null;
  const { load } = await import(pathToFileURL(path.join(NODE_DIR, 'deps.mjs')).href);
  return load(name);
}

export function pqtoolExists() {
  try {
    fs.accessSync(PQTOOL, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

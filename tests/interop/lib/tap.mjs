// Minimal TAP producer: "ok N - name" / "not ok N - name", diagnostics as "# ...".
// Exit status is non-zero when any test failed. Each test runs with a time bound
// (a hang is a failure, never a wall-time assertion on speed).

let n = 0;
let failed = 0;
let passed = 0;

export function diag(msg) {
  for (const line of String(msg).split('\n')) process.stdout.write(`# ${line}\n`);
}

export function ok(cond, name, details) {
  n++;
  if (cond) {
    passed++;
    process.stdout.write(`ok ${n} - ${name}\n`);
  } else {
    failed++;
    process.stdout.write(`not ok ${n} - ${name}\n`);
    if (details) diag(Array.isArray(details) ? details.join('\n') : details);
  }
  return !!cond;
}

/** Runs fn (sync or async) as one TAP test; fn returns [] / undefined on success or a list of failure lines. */
export async function test(name, fn, { timeoutMs = 300_000 } = {}) {
  let timer;
  try {
    const res = await Promise.race([
      Promise.resolve().then(fn),
      new Promise((_, rej) => { timer = setTimeout(() => rej(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs); }),
    ]);
    const problems = Array.isArray(res) ? res : [];
    return ok(problems.length === 0, name, limitLines(problems));
  } catch (e) {
    return ok(false, name, String(e && e.stack || e).split('\n').slice(0, 12));
  } finally {
    clearTimeout(timer);
  }
}

export function limitLines(lines, max = 40) {
  if (lines.length <= max) return lines;
  return [...lines.slice(0, max), `... and ${lines.length - max} more`];
}

/** Prints the plan and a summary, and exits with 1 when something failed. */
export function done() {
  process.stdout.write(`1..${n}\n`);
  diag(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

/** Fails with a single "not ok 1 - reason" and exits 1 (missing tool, missing deps). */
export function bail(reason) {
  process.stdout.write(`not ok 1 - ${reason}\n1..1\n`);
  process.exit(1);
}

process.on('unhandledRejection', (e) => {
  ok(false, 'unhandled rejection', String(e && e.stack || e));
  done();
});

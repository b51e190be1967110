// Loads the npm test tools installed here (tests/node/node_modules) for scripts that live
// elsewhere in the repo (tests/interop, bench): a dynamic import from this module resolves
// bare package names against this directory's node_modules.
export function load(name) {
  return import(name);
}

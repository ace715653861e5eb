#!/usr/bin/env node
// The CLI is compiled by `npm run build` (run automatically by `npm ci` through `prepare`), which
// also bundles it into dist/wharf.mjs (scripts/bundle.mjs): one file loads ~100 ms faster than the
// ~140 modules under dist/src. A bare `tsc` afterwards makes the bundle stale (older than the
// compiled entry), and then the modules under dist/src are used.
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/src/cli/main.js', import.meta.url);
const bundle = new URL('../dist/wharf.mjs', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('wharf: not built yet; run `npm ci` (or `npm run build`) in the wharf checkout first\n');
  process.exit(1);
}
const fresh = (() => {
  try {
    return statSync(bundle).mtimeMs >= statSync(entry).mtimeMs;
  } catch {
    return false;
  }
})();
await import((fresh ? bundle : entry).href);

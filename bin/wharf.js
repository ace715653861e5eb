#!/usr/bin/env node
// The CLI is compiled by `npm run build` (run automatically by `npm ci` through `prepare`).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('wharf: not built yet; run `npm ci` (or `npm run build`) in the wharf checkout first\n');
  process.exit(1);
}
await import(entry.href);

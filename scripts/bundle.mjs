// Bundles the compiled CLI (dist/src/cli/main.js and everything it imports, dependencies included)
// into ONE file, dist/wharf.mjs, which bin/wharf.js prefers. Why: Node 20 resolves, reads, compiles
// and links every ES module separately; a `wharf build` that loads ~140 of them spends ~100 ms of
// its start-up there (bench/README.md, "Where the time goes"), against ~10 ms for one file. Lazy
// `import()`s inside the bundle stay lazy: esbuild evaluates those modules only when first imported.
// Run by `npm run build` after tsc; a bare `tsc` afterwards leaves the bundle older than
// dist/src/cli/main.js, and bin/wharf.js then falls back to the unbundled files.
import { build } from 'esbuild';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
await build({
  entryPoints: [join(root, 'dist', 'src', 'cli', 'main.js')],
  outfile: join(root, 'dist', 'wharf.mjs'),
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
  // CommonJS dependencies (commander, moo, nearley) call require() for Node's built-ins.
  banner: { js: "import { createRequire as __wharfRequire } from 'node:module'; const require = __wharfRequire(import.meta.url);" },
});

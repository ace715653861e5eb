// Bundles the compiled CLI (dist/src/cli/main.js and everything it imports, dependencies included)
// into ONE CommonJS file, dist/wharf.cjs, which bin/wharf.js prefers. Why: Node 20 resolves, reads, compiles
// and links every ES module separately; a `wharf build` that loads ~140 of them spends ~100 ms of
// its start-up there (bench/README.md, "Where the time goes"), against ~10 ms for one file (and bin/wharf.js adds a V8 code cache, which Node 20 offers only
// for scripts, not ES modules: hence CommonJS). Lazy
// `import()`s inside the bundle stay lazy: esbuild evaluates those modules only when first imported.
// Run by `npm run build` after tsc; a bare `tsc` afterwards leaves the bundle older than
// dist/src/cli/main.js, and bin/wharf.js then falls back to the unbundled files.
import { build } from 'esbuild';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import Module from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const result = await build({
  entryPoints: [join(root, 'dist', 'src', 'cli', 'main.js')],
  outfile: join(root, 'dist', 'wharf.cjs'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
  // src/api/native.ts reads import.meta.url only where it has one (the library); the CLI wires the addon itself.
  logOverride: { 'empty-import-meta': 'silent' },
  write: false,
  // undici (the registry client's HTTP) stays a package loaded on first use: bundled, its ~1 MB would
  // be parsed by every command's start-up.
  external: ['undici'],
});
// bin/wharf.js runs the bundle as a vm.Script, where `import()` has no loader: every import must
// have been bundled (a lazy import() of a module inside the project becomes a lazy init call).
const js = result.outputFiles.find((f) => f.path.endsWith('.cjs'));
const dynamic = js.text.match(/\bimport\((["'`])[^"'`]*\1\)/g);
if (dynamic) {
  console.error(`scripts/bundle.mjs: the bundle keeps dynamic imports ${dynamic.join(', ')}; import those modules statically`);
  process.exit(1);
}
// Built-in modules most commands never use are required on first use: child_process, http(s) and
// zlib cost ~4 ms of a no-op build's start-up to compile (bench/README.md, "Where the time goes");
// tls (and net, which http loads when it connects) ~3–6 ms of every `wharf pull`, whose plain-http
// requests never use tls; crypto ~1.2 ms of every command, which hashes and names its temp files
// through the native addon where it was built (src/util/crypto.ts); fs/promises ~0.8 ms, which a build of
// file steps does not use; stream (with stream/promises) ~0.9 ms, which such a build with its
// output on a pipe does not use either (classes that extend its classes are declared on first
// use: src/util/lazily.ts); os and timers/promises, read at a call, not as a module loads.
// A module is reached only through property reads (`(0, import_x.spawn)(...)`), which the proxy
// answers from the real module. The source map still fits: the replacement is on the same line.
const LAZY = /\brequire\("(node:(?:child_process|crypto|fs\/promises|http|https|zlib|tls|net|os|stream|stream\/promises|timers\/promises)|undici)"\)/g;
const LAZY_HELPER = 'var __wharfLazy = (id) => { let m; const load = () => (m ??= require(id)); return new Proxy({}, { get: (_, k) => load()[k], has: (_, k) => k in load(), ownKeys: () => Reflect.ownKeys(load()), getOwnPropertyDescriptor: (_, k) => { const d = Object.getOwnPropertyDescriptor(load(), k); return d && { ...d, configurable: true }; } }); };';
// Both bundles are kept pure ASCII. esbuild escapes strings, but not comments or regular
// expressions; ONE character above U+00FF (a `→` in a comment) makes V8 hold the whole ~1.1 MB
// source as a two-byte string: decoding it took ~1.5 ms more at every start, and the code cache
// check hashes twice the bytes (bench/README.md, "Start-up snapshot"). A `\uXXXX` escape means
// the same in a comment, a string, a regular expression (astral characters as a surrogate pair
// of escapes, which a `u` regular expression reads as one code point) and an identifier; only a
// raw template string would differ, and the bundle has none (checked below). Columns after an
// escaped character on its line move in the source map.
const RAW_TEMPLATE = /\bString\.raw\b/;
function ascii(text, file) {
  if (RAW_TEMPLATE.test(text)) {
    console.error(`scripts/bundle.mjs: ${file} uses String.raw, whose text a \\u escape would change`);
    process.exit(1);
  }
  return text.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
// Each bundle carries the CommonJS wrapper Node would add (Module.wrap), so bin/wharf.js compiles
// the file's text as it is: mapped through the addon, it is never copied (a wrapped copy was the
// 1.2 MB string twice). The first line keeps its columns in the source map but for the wrapper.
const WRAP_OPEN = Module.wrap('').slice(0, Module.wrap('').indexOf('\n'));
function wrapped(text) {
  const map = /\n\/\/# sourceMappingURL=[^\n]*\n?$/.exec(text);
  const body = map ? text.slice(0, map.index) : text;
  return `${WRAP_OPEN}${body}\n})${map ? map[0] : '\n'}`;
}
// Written under a temp name and renamed: a running wharf may have the old file mapped, and a
// mapping whose file is cut short in place faults.
function writeReplacing(path, data) {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}
for (const f of result.outputFiles) {
  mkdirSync(dirname(f.path), { recursive: true });
  if (f === js) {
    const [first, ...rest] = f.text.split('\n');
    writeReplacing(f.path, wrapped(ascii([`${first} ${LAZY_HELPER}`, ...rest].join('\n').replace(LAZY, '__wharfLazy("$1")'), f.path)));
  } else writeReplacing(f.path, f.contents);
}
// undici as one CommonJS file of its own, which bin/wharf.js loads on first use with a code cache
// (from node_modules it was compiled afresh by every registry command: ~70 ms).
const undici = await build({
  stdin: { contents: "module.exports = require('undici');", resolveDir: root, loader: 'js' },
  outfile: join(root, 'dist', 'undici.cjs'),
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  logLevel: 'warning',
  write: false,
});
for (const f of undici.outputFiles) writeReplacing(f.path, wrapped(ascii(f.text, f.path)));
// Code caches of the previous bundle (bin/wharf.js) are of no use any more.
rmSync(join(root, 'dist', '.v8cache'), { recursive: true, force: true });
rmSync(join(root, 'dist', 'wharf.mjs'), { force: true });

#!/usr/bin/env node
// The CLI is compiled by `npm run build` (run automatically by `npm ci` through `prepare`), which
// also bundles it into ONE CommonJS file, dist/wharf.cjs (scripts/bundle.mjs). Start-up is most of
// a cached build (bench/README.md, "Where the time goes"), so this file:
//  - is CommonJS itself (bin/package.json says so): an ES module entry point costs ~5 ms of
//    Node's module loader before the first line runs;
//  - loads the bundle rather than the ~140 ES modules under dist/src (Node 20 resolves, reads,
//    compiles and links each one: ~100 ms more);
//  - compiles it with a V8 code cache kept per command under dist/.v8cache/ (written at the first
//    run of a command, named after the bundle's size and mtime, which bundle.mjs clears; for
//    `build`, written again by the first build that ran steps), so later runs skip parsing and
//    compiling what they ran before (~50 ms of CPU for `build`);
//  - maps the bundle and its code cache through the native addon where it was built (mapFile):
//    read, the 1.2 MB bundle was copied twice (a Buffer, then a string) and the cache once, ~1 ms
//    and ~600 fresh pages of every command (bench/README.md, "Speed, tenth round"). The bundle
//    carries its own CommonJS wrapper (scripts/bundle.mjs), so the mapped string is the script.
// A bare `tsc` after the bundle was made leaves the bundle older than dist/src/cli/main.js; then
// the modules under dist/src are used. (The bundle has no import(): scripts/bundle.mjs checks.)
'use strict';
const { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } = require('node:fs');
const Module = require('node:module');
const { dirname, join } = require('node:path');
const { pathToFileURL } = require('node:url');
const vm = require('node:vm');

const entry = join(__dirname, '..', 'dist', 'src', 'cli', 'main.js');
/** How the CommonJS wrapper each bundle carries opens: Node's own (scripts/bundle.mjs takes it from Module.wrap too). */
const WRAPPER = Module.wrap('').slice(0, Module.wrap('').indexOf('\n'));
const bundle = join(__dirname, '..', 'dist', 'wharf.cjs');
if (!existsSync(entry)) {
  process.stderr.write('wharf: not built yet; run `npm ci` (or `npm run build`) in the wharf checkout first\n');
  process.exit(1);
}
const stats = (p) => statSync(p, { throwIfNoEntry: false });
const b = stats(bundle);
if (b && b.mtimeMs >= stats(entry).mtimeMs) runBundle(b);
else import(pathToFileURL(entry).href);

function runBundle(st) {
  const native = addon(join(dirname(bundle), 'native', 'wharf_native.node'));
  const args = process.argv.slice(2);
  const command = args.find((a, i) => /^[a-z]+$/.test(a) && args[i - 1] !== '--root') ?? 'none';
  // Registry commands use undici, whose HTTP parser is WebAssembly (llhttp). V8 compiles the parser's
  // hot functions again with TurboFan on a background thread, and Node waits for that job before it
  // exits: 70-130 ms after the last output of a `pull` that had nothing to download (bench/README.md,
  // "wharf pull of an image already present"). Liftoff's code is fast enough for parsing headers, so
  // these commands keep to it. Not for `build`: xxh64 (context hashing) is WebAssembly too, and
  // needs TurboFan's code. The flag changes V8's code cache check, so its caches are kept apart.
  const liftoff = command === 'pull' || command === 'push' || command === 'login';
  if (liftoff) require('node:v8').setFlagsFromString('--liftoff-only');
  const req = Module.createRequire(bundle);
  // undici (the registry client's HTTP, ~0.8 MB) is its own bundle, dist/undici.cjs, loaded on
  // first use with a code cache of its own: through node_modules it took ~70 ms to compile at every
  // registry command (bench/README.md, "wharf pull of an image already present").
  const undici = join(dirname(bundle), 'undici.cjs');
  let undiciExports;
  const bundleRequire = Object.assign((id) => {
    if (id !== 'undici') return req(id);
    const u = stats(undici);
    return u ? (undiciExports ??= runCached(undici, u, liftoff ? 'undici-liftoff' : 'undici', req, native)) : req(id);
  }, req);
  // A build that ran steps widens a cache written by a run that did not (a no-op build, the first
  // after an install): without it the code of steps (layers, containers, the launch server) was
  // compiled from source at every later build, 2-7 ms of a changed one (bench/README.md, "Speed,
  // eighth round"). The CLI says so through this hook; the cache is rewritten once, and a marker
  // beside it says it holds that code.
  let ranSteps = false;
  globalThis[Symbol.for('wharf.codeCache')] = { ranSteps: () => void (ranSteps = true) };
  runCached(bundle, st, command, bundleRequire, native, () => ranSteps);
}

/**
 * dist/native/wharf_native.node when it was built and offers mapFile; the bundle loads it again from
 * Node's cache. It notes fds 0-2 as they are before anything of the CLI runs, so a command that
 * ends through its exitNow puts them back as Node's own exit would (cli/main.ts).
 */
function addon(path) {
  try {
    const a = require(path);
    if (typeof a.mapFile !== 'function') return undefined;
    a.saveStdio?.();
    return a;
  } catch {
    return undefined; // not built here: the files are read instead
  }
}

/** A file's bytes (or, with `latin1`, its text) mapped through the addon, else read. */
function fileContents(native, path, latin1) {
  try {
    const mapped = native?.mapFile(path, latin1);
    if (mapped) return mapped;
  } catch {
    // read below, which says what is wrong
  }
  return latin1 ? readFileSync(path, 'latin1') : readFileSync(path);
}

/**
 * Runs a CommonJS file compiled with a V8 code cache kept under dist/.v8cache/ (written at exit when
 * missing, and once more when `widen()` says at exit that this run ran code the cache was not
 * written after: a cache holds what the run that wrote it had compiled).
 */
function runCached(file, st, name, requireFn, native, widen = () => false) {
  const cacheFile = join(dirname(bundle), '.v8cache', `${name}-${st.size}-${Math.trunc(st.mtimeMs)}`);
  const widened = `${cacheFile}.widened`;
  let cachedData;
  try {
    cachedData = fileContents(native, cacheFile, false);
  } catch {
    // first run of this command: compiled from source, and the cache written at exit
  }
  // The bundles are pure ASCII (scripts/bundle.mjs writes them so): read as latin1 they are the same
  // string, without UTF-8 decoding (~3.5 ms for the 1.2 MB bundle here, ~0.3-2 ms as latin1).
  // A bundle from before they carried their wrapper (a checkout not built again) gets Node's.
  const text = fileContents(native, file, true);
  const script = new vm.Script(text.startsWith(WRAPPER) ? text : Module.wrap(text), { filename: file, cachedData });
  const fresh = !cachedData || script.cachedDataRejected;
  process.once('exit', () => {
    const wide = widen();
    if (!fresh && (!wide || existsSync(widened))) return;
    try {
      mkdirSync(dirname(cacheFile), { recursive: true });
      const tmp = `${cacheFile}.${process.pid}`;
      writeFileSync(tmp, script.createCachedData());
      renameSync(tmp, cacheFile); // concurrent first runs: the last complete file wins
      if (wide) writeFileSync(widened, '');
      else rmSync(widened, { force: true });
    } catch {
      // a read-only install runs without a cache
    }
  });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, requireFn, module, file, dirname(file));
  return module.exports;
}

// Would a V8 start-up snapshot (`node --snapshot-blob F --build-snapshot entry.js`) start the CLI
// faster than bin/wharf.js's code cache? Builds one from the current bundle in a temp dir and times
// it against the code-cache path, interleaved (bench/README.md, "Start-up snapshot"). The snapshot
// holds the evaluated bundle (its module-level code and the built-in modules it requires) and runs
// the CLI's main on deserialization; it is compiled with the code cache of a no-op build, so the
// functions a build runs are in it as bytecode (without it, a snapshot build compiles them lazily
// and is ~15 ms slower). A prototype: registry commands cannot load undici from it.
// Needs root (the first, uncached build mounts an overlay). Usage: node dist/bench/startup-snapshot.js [runs]
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { noopBuildArgs } from './noop-context.js';

const runs = Number(process.argv[2] ?? 20);
const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const node = process.execPath;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function run(cmd: string, args: string[]): number {
  const t = performance.now();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = performance.now() - t;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
}

/** A copy of the CLI whose bundle, while a snapshot is being built, leaves its main to the snapshot. */
function snapshotTree(dir: string): string {
  for (const d of ['bin', 'dist/src/cli']) mkdirSync(join(dir, d), { recursive: true });
  for (const f of ['bin/wharf.js', 'bin/package.json', 'dist/undici.cjs']) copyFileSync(join(projectRoot, f), join(dir, f));
  symlinkSync(join(projectRoot, 'dist', 'native'), join(dir, 'dist', 'native'));
  symlinkSync(join(projectRoot, 'node_modules'), join(dir, 'node_modules'));
  writeFileSync(join(dir, 'dist', 'src', 'cli', 'main.js'), ''); // older than the bundle: bin/wharf.js takes the bundle
  const src = readFileSync(join(projectRoot, 'dist', 'wharf.cjs'), 'utf8');
  const mainCall = '\nmain(process.argv).then(';
  const call = src.lastIndexOf(mainCall);
  // The bundle ends its own CommonJS wrapper (scripts/bundle.mjs) before its source map comment.
  const close = src.lastIndexOf('\n})\n//# sourceMappingURL=');
  if (call < 0 || close < call) throw new Error('dist/wharf.cjs: no top-level main(process.argv) call to hand to the snapshot');
  const bundle = `${src.slice(0, call)}\nconst wharfRun = () => main(process.argv).then(${src.slice(call + mainCall.length, close)}
if (require("node:v8").startupSnapshot.isBuildingSnapshot()) globalThis.wharfRun = wharfRun; else wharfRun();\n})\n`;
  writeFileSync(join(dir, 'dist', 'wharf.cjs'), bundle);
  return join(dir, 'bin', 'wharf.js');
}

function buildBlob(dir: string, name: string, entry: string): string {
  const entryFile = join(dir, `${name}.js`);
  const blob = join(dir, `${name}.blob`);
  writeFileSync(entryFile, entry);
  const r = spawnSync(node, ['--snapshot-blob', blob, '--build-snapshot', entryFile], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`building ${blob}: ${r.stderr}`);
  return blob;
}

async function main(): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), 'wharf-bench-snapshot-'));
  try {
    const build = noopBuildArgs(tmp);
    const bin = join(projectRoot, 'bin', 'wharf.js');
    const snapBin = snapshotTree(join(tmp, 'tree'));
    run(node, [bin, ...build]); // the real build; every later one is a no-op
    run(node, [snapBin, ...build]); // writes the no-op build's code cache, which the snapshot is compiled with
    const cacheDir = join(tmp, 'tree', 'dist', '.v8cache');
    const cache = readdirSync(cacheDir).find((f) => f.startsWith('build-'));
    if (!cache) throw new Error(`no build code cache in ${cacheDir}`);
    const bundle = join(tmp, 'tree', 'dist', 'wharf.cjs');
    const blob = buildBlob(tmp, 'wharf', `'use strict';
const { readFileSync } = require('node:fs');
const v8 = require('node:v8');
const vm = require('node:vm');
const file = ${JSON.stringify(bundle)};
const script = new vm.Script(readFileSync(file, 'utf8'), { filename: file, cachedData: readFileSync(${JSON.stringify(join(cacheDir, cache))}) });
if (script.cachedDataRejected) throw new Error('the code cache was rejected');
const module = { exports: {} };
script.runInThisContext()(module.exports, require, module, file, ${JSON.stringify(dirname(bundle))});
v8.startupSnapshot.setDeserializeMainFunction(() => globalThis.wharfRun());
`);
    const empty = buildBlob(tmp, 'empty', "require('node:v8').startupSnapshot.setDeserializeMainFunction(() => {});\n");
    const wrapper = join(tmp, 'wharf.sh');
    writeFileSync(wrapper, `#!/bin/sh\nexec ${JSON.stringify(node)} --snapshot-blob ${JSON.stringify(blob)} ${JSON.stringify(snapBin)} "$@"\n`, { mode: 0o755 });
    const variants: [string, string, string[]][] = [
      ['node -e 0', node, ['-e', '0']],
      ['node, empty user-land snapshot', node, ['--snapshot-blob', empty, snapBin]],
      ['--version, code cache (bin/wharf.js)', node, [bin, '--version']],
      ['--version, snapshot', node, ['--snapshot-blob', blob, snapBin, '--version']],
      ['--version, snapshot via /bin/sh script', wrapper, ['--version']],
      ['no-op build, code cache (bin/wharf.js)', node, [bin, ...build]],
      ['no-op build, snapshot', node, ['--snapshot-blob', blob, snapBin, ...build]],
      ['no-op build, snapshot via /bin/sh script', wrapper, build],
    ];
    const times = variants.map(() => [] as number[]);
    for (let i = 0; i < runs + 2; i++) {
      for (const [j, [, cmd, args]] of variants.entries()) {
        const ms = run(cmd, args);
        if (i >= 2) times[j]!.push(ms); // two warm-up rounds (page cache, code caches)
      }
    }
    const base = median(times[0]!);
    console.log(`startup-snapshot: median of ${runs} interleaved runs, ms (× node -e 0); snapshot ${(readFileSync(blob).length / 1e6).toFixed(1)} MB, empty ${(readFileSync(empty).length / 1e6).toFixed(1)} MB`);
    for (const [j, [name]] of variants.entries()) {
      const m = median(times[j]!);
      console.log(`  ${name.padEnd(42)} ${m.toFixed(1).padStart(7)}  (${(m / base).toFixed(2)}×)`);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

await main();

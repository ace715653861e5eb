// The first RUN of a wharf process: a cold build of `FROM base` + 3 RUNs on a fresh store root
// each time (a CI runner's case), with the runtime host cache (crun's probe verdict and compiled
// seccomp filter, src/runtime/host-cache.ts) kept warm across builds (`warm`) and emptied before
// each (`empty`); with a second wharf checkout given, its bin/wharf.js is timed too (`other`),
// interleaved. RUN times are the step-started/step-done `at` of `--progress json`.
// NODE_EXTRA_CA_CERTS is unset for every build: Node parses the whole bundle at each start.
// Needs root. Usage: node dist/bench/first-run.js [rounds] [other checkout's bin/wharf.js]
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { makeBusyboxRootfs } from '../test/helpers/busybox.js';

const rounds = Number(process.argv[2] ?? 7);
const other = process.argv[3];
const bin = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'wharf.js');
const work = mkdtempSync(join(tmpdir(), 'wharf-bench-first-run-'));
const cache = join(work, 'cache');
// The other checkout has a host cache of its own: the cache holds one probe verdict, keyed by the
// launcher binary, so two checkouts sharing one would each probe crun again at every build.
const otherCache = join(work, 'cache-other');
const env: NodeJS.ProcessEnv = { ...process.env, WHARF_RUNTIME_CACHE: cache };
delete env['NODE_EXTRA_CA_CERTS'];

interface Event { type: string; at: number; step?: { position: number; instruction: string } }

function wharf(program: string, root: string, args: string[]): { ms: number; out: string } {
  const t = performance.now();
  const r = spawnSync(process.execPath, [program, '--root', root, ...args], { encoding: 'utf8', env: program === bin ? env : { ...env, WHARF_RUNTIME_CACHE: otherCache } });
  if (r.status !== 0) throw new Error(`wharf ${args.join(' ')}: ${r.stderr}`);
  return { ms: performance.now() - t, out: r.stdout + r.stderr };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

try {
  makeBusyboxRootfs(join(work, 'rootfs'));
  spawnSync('tar', ['-C', join(work, 'rootfs'), '-cf', join(work, 'rootfs.tar'), '.']);
  mkdirSync(join(work, 'app'));
  writeFileSync(join(work, 'app', 'Dockerfile'), 'FROM base:1\nRUN echo a > /a\nRUN echo b > /b\nRUN echo c > /c\n');
  const variants: Record<string, string> = { warm: bin, empty: bin, ...(other ? { other } : {}) };
  const results: Record<string, number[]> = {};
  for (let i = 0; i <= rounds; i++) {
    const names = Object.keys(variants);
    for (const name of i % 2 ? names : names.reverse()) {
      const root = join(work, `root-${name}`);
      rmSync(root, { recursive: true, force: true });
      wharf(variants[name]!, root, ['import', join(work, 'rootfs.tar'), 'base:1']);
      if (name === 'empty') rmSync(cache, { recursive: true, force: true });
      const { ms, out } = wharf(variants[name]!, root, ['build', '--progress', 'json', '-t', 'x:1', join(work, 'app')]);
      // A build's overlay mounts are gone when it exits; the root goes before the next round.
      const events = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Event);
      const at = (type: string, n: number) => events.find((e) => e.type === type && e.step?.position === n)!.at;
      if (i === 0) continue; // warm-up: the V8 code cache, the page cache and (warm) the host cache
      for (const [what, v] of [['wall', ms], ['RUN 1', at('step-done', 2) - at('step-started', 2)], ['RUN 2', at('step-done', 3) - at('step-started', 3)],
        ['RUN 3', at('step-done', 4) - at('step-started', 4)]] as const) (results[`${what} ${name}`] ??= []).push(v);
    }
  }
  for (const [k, v] of Object.entries(results)) console.log(`${k.padEnd(12)} ${median(v).toFixed(0).padStart(6)} ms   ${v.map((x) => x.toFixed(0)).join(' ')}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}

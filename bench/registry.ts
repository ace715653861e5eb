/**
 * Registry transfer against the peers, from a local docker-registry (distribution 2.8, plain http on
 * 127.0.0.1) on a generated 5-layer image (~200 MB of files, half random and half repetitive, so
 * gzip has work to do; stored gzip-compressed):
 *   pull, registry → ready store: `wharf pull` (fresh root each run; layers verified and unpacked
 *     into snapshots), `skopeo copy docker://… containers-storage:…` (a private storage.conf and
 *     graphroot, fresh each run; layers unpacked, as podman/buildah would build on them),
 *     `skopeo copy docker://… oci:DIR` (fresh dir; blobs only, nothing unpacked: kept as a row for
 *     honesty, not the peer of a ready store), `docker pull` (private dockerd, `docker rmi` between
 *     runs; layers unpacked);
 *   push with gzip (the stored gzip layers, as is): `wharf push` against `skopeo copy oci:… docker://…`,
 *     each run into a freshly started registry, so no blob is already there and nothing can be
 *     mounted from another repository;
 *   `wharf pull` of an image already present (one manifest request) against `wharf --version`.
 * Runs of different tools are interleaved round by round after one warm-up round; medians.
 * Needs root (dockerd, wharf's snapshots). Usage: node dist/bench/registry.js [--runs 5] [--size-mb 200] [--only pull,push,present]
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DOCKER, startDockerd, type PrivateDockerd } from '../test/helpers/dockerd.js';
import { startRegistry, type TestRegistry } from '../test/helpers/registry.js';
import { median } from './peers/stats.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' }, 'size-mb': { type: 'string', default: '200' }, only: { type: 'string' } } });
/** `--only pull,push,present`: a subset of the operations (all by default). */
const only = new Set((values.only ?? 'pull,push,present').split(','));
const runs = Number(values.runs);
const sizeMb = Number(values['size-mb']);
if (!(runs >= 1 && sizeMb >= 5)) throw new Error('--runs ≥ 1 and --size-mb ≥ 5 are needed');

const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = join(projectRoot, 'bin', 'wharf.js');
const LAYERS = 5;
const log = (s: string) => process.stderr.write(`${s}\n`);

/** Runs a command to completion; throws with its stderr when it fails. Returns wall ms. */
function timed(cmd: string, args: string[], env?: NodeJS.ProcessEnv): number {
  const t = performance.now();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 64 << 20, ...(env ? { env } : {}) });
  const ms = performance.now() - t;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return ms;
}
const wharf = (root: string, args: string[]) => timed(process.execPath, [bin, '--root', root, ...args]);

/** One layer's files: 1 MiB blocks, each half random bytes and half a repeated line. */
function writeLayerFiles(dir: string, mb: number): void {
  mkdirSync(dir, { recursive: true });
  const text = Buffer.alloc(512 * 1024, 'wharf registry benchmark: compressible filler line\n');
  const perFile = 8;
  for (let f = 0; f * perFile < mb; f++) {
    const blocks: Buffer[] = [];
    for (let b = 0; b < Math.min(perFile, mb - f * perFile); b++) blocks.push(randomBytes(512 * 1024), text);
    writeFileSync(join(dir, `data-${f}.bin`), Buffer.concat(blocks));
  }
}

/** Unmounts whatever is mounted under `dir` (containers/storage's overlay driver may leave mounts), deepest first. */
function unmountUnder(dir: string): void {
  const mounts = readFileSync('/proc/self/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1] ?? '').filter((m) => m === dir || m.startsWith(`${dir}/`));
  for (const m of mounts.sort((a, b) => b.length - a.length)) spawnSync('umount', ['-l', m], { stdio: 'ignore' });
}

function version(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return (r.stdout || r.stderr).trim().split('\n')[0] ?? '?';
}

interface Row { readonly what: string; readonly tool: string; readonly times: number[] }

async function main(): Promise<void> {
  const tmp = mkdtempSync(join(os.tmpdir(), 'wharf-bench-registry-'));
  let reg: TestRegistry | undefined;
  let dockerd: PrivateDockerd | undefined;
  try {
    log(`setup: ${LAYERS} layers of ${sizeMb / LAYERS} MiB, registry, dockerd`);
    const ctx = join(tmp, 'ctx');
    const per = Math.round(sizeMb / LAYERS);
    for (let i = 0; i < LAYERS; i++) writeLayerFiles(join(ctx, `l${i}`), per);
    writeFileSync(join(ctx, 'Dockerfile'), ['FROM scratch', ...Array.from({ length: LAYERS }, (_, i) => `COPY l${i} /l${i}`), ''].join('\n'));
    [reg, dockerd] = await Promise.all([startRegistry(), startDockerd()]);
    const src = join(tmp, 'src-store');
    const image = `${reg.host}/bench/big:1`;
    wharf(src, ['build', '--progress', 'quiet', '--compression', 'gzip', '-t', image, ctx]);
    wharf(src, ['push', image]);
    const files = spawnSync('du', ['-sm', ctx], { encoding: 'utf8' }).stdout.split('\t')[0];
    const blobs = spawnSync('du', ['-sm', join(src, 'blobs')], { encoding: 'utf8' }).stdout.split('\t')[0];

    const rows: Row[] = [];
    const round = (what: string, tools: [string, (i: number) => number][]) => {
      const times = tools.map(() => [] as number[]);
      for (let i = -1; i < runs; i++) {
        // Rotate the order each round so no tool always runs first (after another's page-cache churn).
        for (let k = 0; k < tools.length; k++) {
          const j = (k + i + 1) % tools.length;
          const ms = tools[j]![1](i);
          if (i >= 0) times[j]!.push(ms);
        }
        log(`${what} round ${i < 0 ? 'warm-up' : i + 1}: ${tools.map(([n], j) => `${n} ${times[j]!.at(-1)?.toFixed(0) ?? '-'}`).join(', ')}`);
      }
      tools.forEach(([tool], j) => rows.push({ what, tool, times: times[j]! }));
    };

    const fresh = (name: string) => {
      const p = join(tmp, name);
      rmSync(p, { recursive: true, force: true });
      return p;
    };
    const d = dockerd;
    // skopeo into containers/storage (unpacked, ready for podman/buildah): its own storage.conf and
    // graphroot in the temp dir, so nothing of the host's is touched; a fresh graphroot per run.
    const cs = join(tmp, 'cs');
    mkdirSync(cs, { recursive: true });
    const csConf = join(cs, 'storage.conf');
    const csDriver = process.env.WHARF_BENCH_CS_DRIVER ?? 'overlay';
    writeFileSync(csConf, `[storage]\ndriver = "${csDriver}"\ngraphroot = "${join(cs, 'graph')}"\nrunroot = "${join(cs, 'run')}"\n`);
    const csEnv = { ...process.env, CONTAINERS_STORAGE_CONF: csConf };
    const csClean = () => {
      spawnSync('skopeo', ['delete', `containers-storage:${image}`], { stdio: 'ignore', env: csEnv });
      unmountUnder(cs);
      rmSync(join(cs, 'graph'), { recursive: true, force: true });
      rmSync(join(cs, 'run'), { recursive: true, force: true });
    };
    if (only.has('pull')) round('pull', [
      ['wharf pull', () => wharf(fresh('pull-wharf'), ['pull', '-q', image])],
      ['skopeo copy docker:// containers-storage:', () => {
        csClean();
        return timed('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${image}`, `containers-storage:${image}`], csEnv);
      }],
      ['skopeo copy docker:// oci: (blobs only)', () => timed('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${image}`, `oci:${fresh('pull-skopeo')}:big`])],
      ['docker pull', () => {
        spawnSync(DOCKER, ['-H', `unix://${d.socket}`, 'rmi', '-f', image], { stdio: 'ignore' });
        return timed(DOCKER, ['-H', `unix://${d.socket}`, 'pull', '-q', image]);
      }],
    ]);
    rmSync(join(tmp, 'pull-skopeo'), { recursive: true, force: true });
    csClean();

    // Each push into a registry started for it: no blob is present, none can be mounted.
    const pushTo = async () => startRegistry();
    const pushRegs: TestRegistry[] = [];
    for (let i = 0; only.has('push') && i < 2 * (runs + 1); i++) pushRegs.push(await pushTo());
    let next = 0;
    try {
      if (only.has('push')) round('push (gzip)', [
        ['wharf push', () => {
          const r = pushRegs[next++]!;
          const target = `${r.host}/bench/big:1`;
          wharf(src, ['tag', image, target]);
          const ms = wharf(src, ['push', '-q', target]);
          wharf(src, ['rmi', target]);
          return ms;
        }],
        ['skopeo copy oci: docker://', () => {
          const r = pushRegs[next++]!;
          return timed('skopeo', ['copy', '-q', '--dest-tls-verify=false', `oci:${src}:${image}`, `docker://${r.host}/bench/big:1`]);
        }],
      ]);
    } finally {
      for (const r of pushRegs) await r.stop();
    }

    const present = join(tmp, 'present');
    if (only.has('present')) wharf(present, ['pull', '-q', image]);
    if (only.has('present')) round('already present', [
      ['wharf pull (image present)', () => wharf(present, ['pull', '-q', image])],
      ['wharf --version', () => timed(process.execPath, [bin, '--version'])],
    ]);

    const s = (ms: number) => (ms / 1000).toFixed(2);
    const out: string[] = [];
    out.push(`Registry bench ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC; ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, load ${os.loadavg()[0]!.toFixed(2)}`);
    out.push(`image: ${LAYERS} layers, ${files} MiB of files, ${blobs} MiB of gzip blobs; median of ${runs} interleaved runs after 1 warm-up`);
    out.push(`peers: ${version('skopeo', ['--version'])}; docker ${version(DOCKER, ['version', '--format', '{{.Client.Version}}'])}; ${version('docker-registry', ['--version'])}`);
    out.push('', '| operation | tool | median s | min–max s | × fastest peer |', '|---|---|---|---|---|');
    for (const what of [...new Set(rows.map((r) => r.what))]) {
      const group = rows.filter((r) => r.what === what);
      // The oci: row stores blobs only (nothing unpacked): shown, but not a peer of a ready store.
      const peers = group.filter((r) => !r.tool.startsWith('wharf') && !r.tool.includes('blobs only'));
      const best = peers.length ? Math.min(...peers.map((r) => median(r.times))) : null;
      for (const r of group) {
        const m = median(r.times);
        const rel = best && r.tool.startsWith('wharf') ? `${(m / best).toFixed(2)}×` : '';
        out.push(`| ${what} | ${r.tool} | ${s(m)} | ${s(Math.min(...r.times))}–${s(Math.max(...r.times))} | ${rel} |`);
      }
    }
    const present0 = median(rows.find((r) => r.tool === 'wharf pull (image present)')?.times ?? [NaN]);
    const start0 = median(rows.find((r) => r.tool === 'wharf --version')?.times ?? [NaN]);
    if (only.has('present')) out.push('', `already-present pull adds ${(present0 - start0).toFixed(0)} ms beyond start-up (${present0.toFixed(0)} ms against ${start0.toFixed(0)} ms for wharf --version)`);
    console.log(out.join('\n'));
  } finally {
    await dockerd?.stop();
    await reg?.stop();
    unmountUnder(tmp);
    rmSync(tmp, { recursive: true, force: true });
  }
}

await main();

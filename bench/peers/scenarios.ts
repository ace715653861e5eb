/**
 * The benchmark scenarios, generated from a seed so every builder and every run sees the same
 * Dockerfile and the same bytes. `scenarioSpec` is pure (sizes and seeds only, no content), so a
 * 500 MB context can be described and tested without being written; `writeScenario` makes it real.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const scenarioNames = ['app', 'wide', 'bigctx', 'deep'] as const;
export type ScenarioName = (typeof scenarioNames)[number];

export interface FileSpec {
  /** Relative to the context directory, '/'-separated. */
  readonly path: string;
  readonly size: number;
  /** Seeds the content; text files get printable lines, others pseudo-random bytes. */
  readonly seed: number;
  readonly text: boolean;
}

export interface ScenarioSpec {
  readonly name: ScenarioName;
  readonly dockerfile: string;
  readonly files: readonly FileSpec[];
  /** The copied file whose content the one-file-change mode rewrites; null when nothing is copied. */
  readonly changeFile: string | null;
}

export interface ScenarioOptions {
  /** Image name every FROM uses (the busybox base imported into each builder). */
  readonly base: string;
  /** Multiplies bigctx's file count and total size (1 = 50,000 files, 500 MB). */
  readonly scale: number;
  readonly seed: number;
}

/** mulberry32: small, fast and good enough to pick sizes; the same seed gives the same stream. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const between = (rnd: () => number, lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));

export function scenarioSpec(name: ScenarioName, opts: ScenarioOptions): ScenarioSpec {
  const rnd = prng(opts.seed ^ hashName(name));
  switch (name) {
    case 'app':
      return appSpec(opts, rnd);
    case 'wide':
      return wideSpec(opts, rnd);
    case 'bigctx':
      return bigctxSpec(opts, rnd);
    case 'deep':
      return deepSpec(opts, rnd);
  }
}

function appSpec(opts: ScenarioOptions, rnd: () => number): ScenarioSpec {
  const names = ['config/app.conf', 'config/old.conf', 'config/limits.conf', 'src/main.txt', 'src/util.txt', 'src/data.txt'];
  const files = names.map((path) => ({ path, size: between(rnd, 200, 4096), seed: between(rnd, 1, 2 ** 31), text: true }));
  // 9 steps; the second RUN deletes a file from a lower (COPY) layer and recreates a directory
  // made by the first RUN, so whiteouts and opaque directories are part of the work.
  const dockerfile = [
    `FROM ${opts.base}`,
    `ENV APP_MODE=bench APP_SEED=${opts.seed}`,
    'WORKDIR /app',
    'COPY config/ /app/config/',
    'COPY src/ /app/src/',
    'RUN mkdir -p /app/data /app/cache && cat /app/src/* > /app/data/all.txt && echo warm > /app/cache/state',
    'RUN rm /app/config/old.conf && rm -rf /app/cache && mkdir /app/cache && touch /app/cache/.keep',
    'RUN sha256sum /app/data/all.txt /app/src/* > /app/data/SUMS && wc -c /app/data/all.txt >> /app/data/SUMS',
    'CMD ["sh", "-c", "cat /app/data/SUMS"]',
    '',
  ].join('\n');
  return { name: 'app', dockerfile, files, changeFile: 'src/main.txt' };
}

function wideSpec(opts: ScenarioOptions, rnd: () => number): ScenarioSpec {
  const lines: string[] = [];
  const stages = ['s0', 's1', 's2', 's3'];
  for (const s of stages) {
    // CPU-bound work of a few hundred ms, so stages that run side by side show it.
    const mb = between(rnd, 48, 64);
    lines.push(
      `FROM ${opts.base} AS ${s}`,
      `RUN mkdir /out && dd if=/dev/zero bs=1M count=${mb} 2>/dev/null | sha256sum > /out/a && echo ${s} >> /out/a`,
      `RUN seq 1 ${between(rnd, 20000, 40000)} | sha256sum > /out/b`,
      '',
    );
  }
  lines.push(`FROM ${opts.base}`);
  for (const s of stages) lines.push(`COPY --from=${s} /out /parts/${s}`);
  lines.push('COPY manifest.txt /parts/manifest.txt', 'CMD ["cat", "/parts/manifest.txt"]', '');
  const files = [{ path: 'manifest.txt', size: between(rnd, 200, 1000), seed: between(rnd, 1, 2 ** 31), text: true }];
  return { name: 'wide', dockerfile: lines.join('\n'), files, changeFile: 'manifest.txt' };
}

function bigctxSpec(opts: ScenarioOptions, rnd: () => number): ScenarioSpec {
  const count = Math.max(10, Math.round(50_000 * opts.scale));
  const total = Math.round(500 * 1024 * 1024 * opts.scale);
  // Mixed sizes like a source tree with assets: most files small, some medium, 1% large ones
  // sharing whatever is left of the total, so the sum is exact.
  const sizes: number[] = [];
  const large: number[] = [];
  let used = 0;
  for (let i = 0; i < count; i++) {
    const r = rnd();
    if (r < 0.01) {
      large.push(i);
      sizes.push(0);
    } else {
      const size = r < 0.86 ? between(rnd, 200, 4096) : between(rnd, 4097, 32768);
      sizes.push(size);
      used += size;
    }
  }
  let left = Math.max(0, total - used);
  const weights = large.map(() => 0.5 + rnd());
  let wsum = weights.reduce((a, b) => a + b, 0);
  large.forEach((i, k) => {
    const share = k === large.length - 1 ? left : Math.floor((left * weights[k]!) / wsum);
    sizes[i] = share;
    left -= share;
    wsum -= weights[k]!;
  });
  const files = sizes.map((size, i) => ({
    path: `d${String(i % 50).padStart(2, '0')}/s${Math.floor(i / 50) % 20}/f${String(i).padStart(6, '0')}.dat`,
    size,
    seed: between(rnd, 1, 2 ** 31),
    text: false,
  }));
  const dockerfile = [`FROM ${opts.base}`, 'COPY . /src', 'RUN find /src -type f | wc -l > /count && du -s /src >> /count', ''].join('\n');
  return { name: 'bigctx', dockerfile, files, changeFile: files[Math.floor(files.length / 2)]!.path };
}

function deepSpec(opts: ScenarioOptions, rnd: () => number): ScenarioSpec {
  const lines = [`FROM ${opts.base}`];
  for (let i = 0; i < 100; i++) lines.push(`RUN echo "step ${i} ${between(rnd, 0, 999999)}" > /deep-${String(i).padStart(3, '0')}.txt`);
  lines.push('');
  return { name: 'deep', dockerfile: lines.join('\n'), files: [], changeFile: null };
}

function hashName(name: string): number {
  let h = 2166136261;
  for (const c of name) h = Math.imul(h ^ c.charCodeAt(0), 16777619);
  return h >>> 0;
}

/** The content of one file: the same spec always gives the same bytes. */
export function fileBytes(f: FileSpec): Buffer {
  if (f.text) {
    const rnd = prng(f.seed);
    const words = ['alpha', 'beta', 'gamma', 'delta', 'wharf', 'layer', 'cache', 'step', 'build', 'image'];
    let s = '';
    while (s.length < f.size) s += `${words[Math.floor(rnd() * words.length)]} ${Math.floor(rnd() * 1e6)}\n`;
    return Buffer.from(s.slice(0, f.size));
  }
  // xorshift32 straight into 32-bit words: about a GB/s, which matters for 500 MB of context.
  const words = new Uint32Array(Math.ceil(f.size / 4));
  let x = f.seed >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  return Buffer.from(words.buffer, 0, f.size);
}

export interface ScenarioDirs {
  readonly dir: string;
  readonly dockerfile: string;
  readonly context: string;
}

/** Writes the Dockerfile beside (not inside) the context, so `COPY .` never copies it. */
export function writeScenario(spec: ScenarioSpec, dir: string): ScenarioDirs {
  const context = join(dir, 'context');
  mkdirSync(context, { recursive: true });
  const dockerfile = join(dir, 'Dockerfile');
  writeFileSync(dockerfile, spec.dockerfile);
  const made = new Set<string>();
  for (const f of spec.files) {
    const p = join(context, f.path);
    const d = dirname(p);
    if (!made.has(d)) {
      mkdirSync(d, { recursive: true });
      made.add(d);
    }
    writeFileSync(p, fileBytes(f));
  }
  return { dir, dockerfile, context };
}

/** Gives the change file new content for run `n` (its original bytes plus a line naming n). */
export function changeFile(spec: ScenarioSpec, dirs: ScenarioDirs, n: number): void {
  const f = spec.files.find((x) => x.path === spec.changeFile);
  if (!f) throw new Error(`scenario ${spec.name} has no file to change`);
  writeFileSync(join(dirs.context, f.path), Buffer.concat([fileBytes(f), Buffer.from(`\nchange ${n}\n`)]));
}

/** Puts the change file back as generated. */
export function restoreFile(spec: ScenarioSpec, dirs: ScenarioDirs): void {
  const f = spec.files.find((x) => x.path === spec.changeFile);
  if (f) writeFileSync(join(dirs.context, f.path), fileBytes(f));
}

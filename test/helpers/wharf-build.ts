import { after, before } from 'node:test';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeBusyboxRootfs, requireRoot } from './busybox.js';
import { wharfBin } from './paths.js';

/** What `wharf build --metadata-file` records that the build tests look at. */
export interface BuildMeta {
  'containerimage.config.digest': string;
  'wharf.steps': { instruction: string; cached: boolean; cacheKey: string }[];
}

/**
 * A wharf store under `dir` with `busybox:test` imported, and helpers to run wharf against it, build
 * a context and write one.
 */
/** Writes `files` (path → content) into `dir/name` and returns that context directory. */
export async function writeContext(dir: string, name: string, files: Record<string, string>): Promise<string> {
  const ctx = join(dir, name);
  for (const [p, data] of Object.entries(files)) {
    await mkdir(join(ctx, p, '..'), { recursive: true });
    await writeFile(join(ctx, p), data);
  }
  return ctx;
}

/** Makes a busybox rootfs under `dir` and imports it as busybox:test into the store at `root` (needs root). */
export function importBusyboxBase(dir: string, root: string): void {
  requireRoot();
  const rootfs = join(dir, 'rootfs');
  makeBusyboxRootfs(rootfs);
  execFileSync('tar', ['-C', rootfs, '-cf', join(dir, 'base.tar'), '.']);
  const r = spawnSync(process.execPath, [wharfBin, '--root', root, 'import', join(dir, 'base.tar'), 'busybox:test'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`wharf import failed: ${r.stderr}`);
}

export function wharfBuildEnv(dir: string) {
  const root = join(dir, 'store');
  const wharf = (args: string[], input?: string) => spawnSync(process.execPath, [wharfBin, '--root', root, ...args], { encoding: 'utf8', ...(input !== undefined ? { input } : {}) });
  return {
    root,
    wharf,
    /** Imports a busybox rootfs as busybox:test (needs root). */
    importBusybox: () => importBusyboxBase(dir, root),
    async build(ctx: string, extra: string[] = []): Promise<{ status: number | null; stderr: string; meta?: BuildMeta }> {
      const metaFile = join(dir, `meta-${Math.random().toString(36).slice(2)}.json`);
      const r = wharf(['build', '--progress', 'plain', '--metadata-file', metaFile, ...extra, ctx]);
      const meta = r.status === 0 ? (JSON.parse(await readFile(metaFile, 'utf8')) as BuildMeta) : undefined;
      return { status: r.status, stderr: r.stderr, ...(meta ? { meta } : {}) };
    },
    context: (name: string, files: Record<string, string>) => writeContext(dir, name, files),
  };
}

export const cachedFlags = (m: BuildMeta) => m['wharf.steps'].map((s) => s.cached);

export type WharfBuildEnv = ReturnType<typeof wharfBuildEnv>;

/**
 * For a test file whose tests build on busybox:test: registers a `before` that makes a temp dir
 * (named from `prefix`) with a store holding that image, and an `after` that removes the dir.
 * The returned fields are set once `before` has run.
 */
export function busyboxStoreForFile(prefix: string): { dir: string; env: WharfBuildEnv } {
  const suite = {} as { dir: string; env: WharfBuildEnv };
  before(async () => {
    suite.dir = await mkdtemp(join(tmpdir(), prefix));
    suite.env = wharfBuildEnv(suite.dir);
    suite.env.importBusybox();
  });
  after(async () => {
    if (suite.dir) await rm(suite.dir, { recursive: true, force: true });
  });
  return suite;
}

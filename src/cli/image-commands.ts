// Implementations of the image-management commands, loaded lazily by their command modules.
import { sha256Hex, type Sha256 } from '../hash/index.js';
import { familiarName, familiarRepository, type Store } from '../store/index.js';
import { openApiStore as openCliStore, openStore } from '../api/index.js';
import { UserError } from '../util/index.js';
import { loadImage, parseTagName } from '../image/index.js';
import type { CliContext } from './context.js';
import { chainOf, openSnapshots, type LayerRef, type SnapshotProblem } from '../snapshot/index.js';

type Out = CliContext['stdout'];

/** docker's HumanSize: decimal units, 3 significant digits (`7.8MB`, `512B`). */
export function humanSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let v = bytes;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${Number(v.toPrecision(3))}${units[i]}`;
}

/** docker's HumanDuration + " ago" (`2 hours ago`, `About a minute ago`). */
export function humanSince(iso: string | undefined, now: Date): string {
  const ms = iso ? now.getTime() - Date.parse(iso) : NaN;
  if (Number.isNaN(ms)) return 'N/A';
  const s = Math.max(0, Math.floor(ms / 1000));
  const m = Math.floor(s / 60);
  const h = Math.round(s / 3600);
  let d: string;
  if (s < 1) d = 'Less than a second';
  else if (s === 1) d = '1 second';
  else if (s < 60) d = `${s} seconds`;
  else if (m === 1) d = 'About a minute';
  else if (m < 60) d = `${m} minutes`;
  else if (h === 1) d = 'About an hour';
  else if (h < 48) d = `${h} hours`;
  else if (h < 24 * 7 * 2) d = `${Math.floor(h / 24)} days`;
  else if (h < 24 * 30 * 2) d = `${Math.floor(h / 24 / 7)} weeks`;
  else if (h < 24 * 365 * 2) d = `${Math.floor(h / 24 / 30)} months`;
  else d = `${Math.floor(h / 24 / 365)} years`;
  return `${d} ago`;
}

function table(out: Out, rows: string[][]): void {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  for (const r of rows) out.write(r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]! + 3))).join('').trimEnd() + '\n');
}

const shortId = (id: Sha256): string => sha256Hex(id).slice(0, 12);

export async function images(ctx: CliContext, root: string, format: 'table' | 'json', digests = false): Promise<number> {
  const store = await openStore(root);
  const now = new Date();
  const { entries, warnings } = await store.images();
  // One damaged image should not hide the others; fsck says more.
  for (const w of warnings) ctx.stderr.write(`warning: ${w}\n`);
  if (format === 'json') {
    for (const e of entries) {
      const line = {
        ID: shortId(e.image.id),
        Repository: familiarRepository(e.ref),
        Tag: e.ref.tag,
        Digest: e.digest,
        CreatedAt: e.image.config.created ?? '',
        CreatedSince: humanSince(e.image.config.created, now),
        Size: humanSize(e.size),
      };
      ctx.stdout.write(JSON.stringify(line) + '\n');
    }
    return 0;
  }
  // --digests: the digest the registry knows the image by (recorded by pull), as docker shows it.
  table(ctx.stdout, [
    digests ? ['REPOSITORY', 'TAG', 'DIGEST', 'IMAGE ID', 'CREATED', 'SIZE'] : ['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'],
    ...entries.map((e) => [familiarRepository(e.ref), e.ref.tag ?? '<none>', ...(digests ? [e.repoDigest?.split('@')[1] ?? '<none>'] : []), shortId(e.image.id), humanSince(e.image.config.created, now), humanSize(e.size)]),
  ]);
  return 0;
}

export async function inspect(ctx: CliContext, root: string, names: string[]): Promise<number> {
  const store = await openStore(root);
  const views = [];
  for (const n of names) views.push(await store.inspect(n));
  ctx.stdout.write(JSON.stringify(views, null, 4) + '\n');
  return 0;
}

export async function history(ctx: CliContext, root: string, name: string, noTrunc: boolean): Promise<number> {
  const store = await openStore(root);
  const { image, rows } = await store.history(name);
  const now = new Date();
  const cut = (s: string): string => (noTrunc || s.length <= 45 ? s : s.slice(0, 44) + '…');
  table(ctx.stdout, [
    ['IMAGE', 'CREATED', 'CREATED BY', 'SIZE', 'COMMENT'],
    ...rows.map((r) => [noTrunc && r.id !== '<missing>' ? image.id : r.id, humanSince(r.created, now), cut(r.createdBy), humanSize(r.size), r.comment]),
  ]);
  return 0;
}

export async function tag(ctx: CliContext, root: string, src: string, dst: string): Promise<number> {
  // Checked first, so the message names this command.
  parseTagName(dst, 'wharf tag SOURCE');
  const store = await openStore(root);
  await store.tag(src, dst);
  return 0;
}

export async function rmi(ctx: CliContext, root: string, names: string[], force = false): Promise<number> {
  const images = await openStore(root);
  const store = images.store;
  let failed = 0;
  for (const n of names) {
    try {
      for (const ref of await images.rmi(n, force)) ctx.stdout.write(`Untagged: ${familiarName(ref)}\n`);
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      ctx.stderr.write(`error: ${e.message}\n${e.hint ? `hint: ${e.hint}\n` : ''}`);
      failed++;
    }
  }
  const gc = await store.gc();
  warnAll(ctx, gc.warnings);
  if (gc.blobsRemoved) ctx.stdout.write(`Deleted ${gc.blobsRemoved} blob(s), ${humanSize(gc.bytesReclaimed)} reclaimed\n`);
  return failed ? 1 : 0;
}

function warnAll(ctx: CliContext, warnings: readonly string[]): void {
  for (const w of warnings) ctx.stderr.write(`warning: ${w}\n`);
}

export async function prune(ctx: CliContext, root: string, opts: { cacheMounts: boolean } = { cacheMounts: false }): Promise<number> {
  const store = await openCliStore(root);
  const gc = await store.gc();
  warnAll(ctx, gc.warnings);
  let freed = gc.bytesReclaimed;
  ctx.stdout.write(`Deleted ${gc.blobsRemoved} blob(s), ${gc.tempRemoved} temp file(s)\n`);
  if (opts.cacheMounts) {
    const { pruneCacheMounts } = await import('../ops/index.js');
    const cm = await pruneCacheMounts(store);
    for (const name of cm.removed) ctx.stdout.write(`deleted cache mount ${name}\n`);
    ctx.stdout.write(`Deleted ${cm.removed.length} cache mount(s) (${humanSize(cm.bytesFreed)})${cm.inUse ? `, kept ${cm.inUse} in use by a running build` : ''}\n`);
    freed += cm.bytesFreed;
  }
  ctx.stdout.write(`Total reclaimed space: ${humanSize(freed)}\n`);
  return 0;
}

export async function fsck(ctx: CliContext, root: string): Promise<number> {
  const store = await openCliStore(root);
  const r = await store.fsck();
  const snaps = await checkSnapshots(store, root);
  for (const p of r.problems) ctx.stdout.write(`${p.kind}: ${p.message}\n`);
  for (const p of snaps) ctx.stdout.write(`snapshot: ${p.message}\n`);
  for (const d of r.unreferenced) ctx.stdout.write(`unreferenced: ${d}\n`);
  const n = r.problems.length + snaps.length;
  ctx.stdout.write(`fsck: ${r.checked} referenced blob(s) checked, ${n} problem(s), ${r.unreferenced.length} unreferenced blob(s)${r.unreferenced.length ? ' (`wharf prune` removes them)' : ''}\n`);
  return n ? 1 : 0;
}

/** Snapshots checked against their blobs; the layers tagged images name are the expected ones. */
async function checkSnapshots(store: Store, root: string): Promise<SnapshotProblem[]> {
  const known = new Map<Sha256, LayerRef>();
  for (const t of await store.tags().catch(() => [])) {
    const img = await loadImage(store, familiarName(t.ref)).catch(() => undefined);
    if (!img) continue; // store.fsck reports it
    const chains = chainOf(img.config.rootfs.diff_ids);
    img.manifest.layers.forEach((descriptor, i) => chains[i] && known.set(chains[i]!, { descriptor, diffId: img.config.rootfs.diff_ids[i]! }));
  }
  return store.withLock(() => openSnapshots(root, store).fsck(known));
}

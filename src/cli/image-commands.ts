// Implementations of the image-management commands, loaded lazily by their command modules.
import { sha256Hex, type Sha256 } from '../hash/index.js';
import { familiarName, familiarRepository, type Store, type TagEntry } from '../store/index.js';
import { findImage, openApiStore as openCliStore, refsToRemove } from '../api/index.js';
import { UserError } from '../util/index.js';
import { REPO_DIGEST_ANNOTATION, historyRows, imageSize, inspectView, loadDescriptor, loadImage, parseTagName } from '../image/index.js';
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
  const store = await openCliStore(root);
  const now = new Date();
  const rows = [];
  for (const t of await store.tags()) {
    try {
      rows.push({ t, img: await loadDescriptor(store, t.ref, t.descriptor) });
    } catch (e) {
      // One damaged image should not hide the others; fsck says more.
      ctx.stderr.write(`warning: ${familiarName(t.ref)}: ${(e as Error).message} (run \`wharf fsck\`)\n`);
    }
  }
  rows.sort((a, b) => (b.img.config.created ?? '').localeCompare(a.img.config.created ?? '') || a.t.name.localeCompare(b.t.name));
  if (format === 'json') {
    for (const { t, img } of rows) {
      const line = {
        ID: shortId(img.id),
        Repository: familiarRepository(t.ref),
        Tag: t.ref.tag,
        Digest: t.descriptor.digest,
        CreatedAt: img.config.created ?? '',
        CreatedSince: humanSince(img.config.created, now),
        Size: humanSize(imageSize(img)),
      };
      ctx.stdout.write(JSON.stringify(line) + '\n');
    }
    return 0;
  }
  // --digests: the digest the registry knows the image by (recorded by pull), as docker shows it.
  const digestOf = (t: TagEntry) => t.descriptor.annotations?.[REPO_DIGEST_ANNOTATION]?.split('@')[1] ?? '<none>';
  table(ctx.stdout, [
    digests ? ['REPOSITORY', 'TAG', 'DIGEST', 'IMAGE ID', 'CREATED', 'SIZE'] : ['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'],
    ...rows.map(({ t, img }) => [familiarRepository(t.ref), t.ref.tag ?? '<none>', ...(digests ? [digestOf(t)] : []), shortId(img.id), humanSince(img.config.created, now), humanSize(imageSize(img))]),
  ]);
  return 0;
}

export async function inspect(ctx: CliContext, root: string, names: string[]): Promise<number> {
  const store = await openCliStore(root);
  const views = [];
  for (const n of names) {
    const { image, tags } = await findImage(store, n);
    const digests = tags.flatMap((t) => t.descriptor.annotations?.[REPO_DIGEST_ANNOTATION] ?? []);
    views.push(inspectView(image, tags.map((t) => familiarName(t.ref)), digests));
  }
  ctx.stdout.write(JSON.stringify(views, null, 4) + '\n');
  return 0;
}

export async function history(ctx: CliContext, root: string, name: string, noTrunc: boolean): Promise<number> {
  const store = await openCliStore(root);
  const { image } = await findImage(store, name);
  const now = new Date();
  const cut = (s: string): string => (noTrunc || s.length <= 45 ? s : s.slice(0, 44) + '…');
  table(ctx.stdout, [
    ['IMAGE', 'CREATED', 'CREATED BY', 'SIZE', 'COMMENT'],
    ...historyRows(image).map((r) => [noTrunc && r.id !== '<missing>' ? image.id : r.id, humanSince(r.created, now), cut(r.createdBy), humanSize(r.size), r.comment]),
  ]);
  return 0;
}

export async function tag(ctx: CliContext, root: string, src: string, dst: string): Promise<number> {
  const store = await openCliStore(root);
  const to = parseTagName(dst, 'wharf tag SOURCE');
  const { image } = await findImage(store, src);
  await store.setTag(to, image.target);
  return 0;
}

export async function rmi(ctx: CliContext, root: string, names: string[], force = false): Promise<number> {
  const store = await openCliStore(root);
  let failed = 0;
  for (const n of names) {
    try {
      for (const ref of await refsToRemove(store, n, force)) {
        await store.removeTag(ref);
        ctx.stdout.write(`Untagged: ${familiarName(ref)}\n`);
      }
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

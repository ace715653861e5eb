// Implementations of the image-management commands, loaded lazily by their command modules.
import { sha256Hex, type Sha256 } from '../hash/index.js';
import { familiarName, familiarRepository } from '../store/index.js';
import { loadContainers, openStore, type containers, type ImageEntry, type ImageFilter } from '../api/index.js';
import { UserError } from '../util/index.js';
import { parseTagName } from '../image/index.js';
import type { CliContext } from './context.js';
import { compileTemplate } from './go-template.js';
import { containerView } from './container-commands.js';

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

export interface ImagesOptions {
  /** `table` (default), `json` (one object per line), or a Go template (cli/go-template.ts). */
  readonly format: string;
  readonly digests: boolean;
  /** -q: image IDs only. */
  readonly quiet: boolean;
  /** --filter KEY=VALUE: reference=PATTERN, dangling=true|false. */
  readonly filters: readonly string[];
}

export async function images(ctx: CliContext, root: string, opts: ImagesOptions): Promise<number> {
  const filter = imageFilter(opts.filters);
  const template = opts.format === 'table' || opts.format === 'json' ? undefined : compileTemplate(opts.format);
  const store = await openStore(root);
  const now = new Date();
  const listed = await store.images(filter);
  // One damaged image should not hide the others; fsck says more.
  for (const w of listed.warnings) ctx.stderr.write(`warning: ${w}\n`);
  const entries = listed.entries;
  if (opts.quiet) {
    for (const e of entries) ctx.stdout.write(`${shortId(e.image.id)}\n`);
    return 0;
  }
  // --digests: the digest the registry knows the image by (recorded by pull), as docker shows it.
  const digestOf = (e: ImageEntry) => e.repoDigest?.split('@')[1] ?? '<none>';
  if (opts.format !== 'table') {
    for (const e of entries) {
      // The fields of docker's `images --format` (its json lines have these keys too).
      const line = {
        ID: shortId(e.image.id),
        Repository: familiarRepository(e.ref),
        Tag: e.ref.tag ?? '<none>',
        Digest: digestOf(e),
        CreatedAt: goTime(e.image.config.created),
        CreatedSince: humanSince(e.image.config.created, now),
        Size: humanSize(e.size),
      };
      ctx.stdout.write((template ? template(line) : JSON.stringify(line)) + '\n');
    }
    return 0;
  }
  table(ctx.stdout, [
    opts.digests ? ['REPOSITORY', 'TAG', 'DIGEST', 'IMAGE ID', 'CREATED', 'SIZE'] : ['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'],
    ...entries.map((e) => [familiarRepository(e.ref), e.ref.tag ?? '<none>', ...(opts.digests ? [digestOf(e)] : []), shortId(e.image.id), humanSince(e.image.config.created, now), humanSize(e.size)]),
  ]);
  return 0;
}

/** `--filter reference=PATTERN` (repeatable) and `dangling=true|false`, as the library takes them. */
function imageFilter(filters: readonly string[]): ImageFilter {
  const reference: string[] = [];
  let dangling: boolean | undefined;
  for (const f of filters) {
    const eq = f.indexOf('=');
    const [key, value] = eq < 0 ? [f, ''] : [f.slice(0, eq), f.slice(eq + 1)];
    if (key === 'reference' && value) reference.push(value);
    else if (key === 'dangling' && (value === 'true' || value === 'false')) dangling = value === 'true';
    else throw new UserError('cli.bad-filter', `--filter ${f}: not a filter wharf images knows`, 'use reference=PATTERN (e.g. reference=app:*) or dangling=true|false');
  }
  return { reference, ...(dangling !== undefined ? { dangling } : {}) };
}

/** A time as Go's time.Time prints it, which docker's CreatedAt is: `2024-05-01 10:20:30 +0000 UTC`. */
export function goTime(iso: string | undefined): string {
  const t = iso ? new Date(iso) : undefined;
  if (!t || Number.isNaN(t.getTime())) return '';
  return `${t.toISOString().slice(0, 19).replace('T', ' ')} +0000 UTC`;
}

/**
 * docker inspect: a container or an image by that name (a container first, as docker looks them
 * up); `type` limits it to one kind.
 */
export async function inspect(ctx: CliContext, root: string, names: string[], format?: string, type?: string): Promise<number> {
  if (type !== undefined && type !== 'image' && type !== 'container') throw new UserError('cli.bad-flag', `--type ${type} is not supported`, 'use --type image or --type container');
  const template = format === undefined ? undefined : compileTemplate(format);
  const store = await openStore(root);
  const views = [];
  for (const n of names) {
    const rec = type === 'image' ? undefined : await findContainer(root, n);
    if (rec) views.push(await containerView(root, rec));
    else if (type === 'container') throw new UserError('container.not-found', `no such container: ${n}`, '`wharf ps -a` lists the containers (by name and ID)');
    else if (type === 'image') views.push(await store.inspect(n));
    else {
      views.push(await store.inspect(n).catch((e: unknown) => {
        if (e instanceof UserError && e.code === 'image.not-found') {
          throw new UserError('inspect.not-found', `no such image or container: ${n}`, '`wharf images` lists the images and `wharf ps -a` the containers');
        }
        throw e;
      }));
    }
  }
  if (template) for (const v of views) ctx.stdout.write(template(JSON.parse(JSON.stringify(v))) + '\n');
  else ctx.stdout.write(JSON.stringify(views, null, 4) + '\n');
  return 0;
}

export async function history(ctx: CliContext, root: string, name: string, noTrunc: boolean, format?: string): Promise<number> {
  const template = format === undefined || format === 'table' ? undefined : compileTemplate(format);
  const store = await openStore(root);
  const { image, rows } = await store.history(name);
  const now = new Date();
  const cut = (s: string): string => (noTrunc || s.length <= 45 ? s : s.slice(0, 44) + '…');
  if (template) {
    // docker's history --format fields; --format skips truncation of CreatedBy only with --no-trunc, as docker.
    for (const r of rows) {
      const row = { ID: noTrunc && r.id !== '<missing>' ? image.id : r.id, CreatedSince: humanSince(r.created, now), CreatedAt: goTime(r.created), CreatedBy: cut(r.createdBy), Size: humanSize(r.size), Comment: r.comment };
      ctx.stdout.write(template(row) + '\n');
    }
    return 0;
  }
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
  let failed = 0;
  const gc = { blobsRemoved: 0, bytesReclaimed: 0, warnings: new Set<string>() };
  for (const n of names) {
    try {
      const r = await images.remove(n, { force });
      for (const ref of r.untagged) ctx.stdout.write(`Untagged: ${familiarName(ref)}\n`);
      gc.blobsRemoved += r.blobsRemoved;
      gc.bytesReclaimed += r.bytesReclaimed;
      for (const w of r.warnings) gc.warnings.add(w);
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      ctx.stderr.write(`error: ${e.message}\n${e.hint ? `hint: ${e.hint}\n` : ''}`);
      failed++;
    }
  }
  warnAll(ctx, [...gc.warnings]);
  if (gc.blobsRemoved) ctx.stdout.write(`Deleted ${gc.blobsRemoved} blob(s), ${humanSize(gc.bytesReclaimed)} reclaimed\n`);
  return failed ? 1 : 0;
}

function warnAll(ctx: CliContext, warnings: readonly string[]): void {
  for (const w of warnings) ctx.stderr.write(`warning: ${w}\n`);
}

export interface PruneOptions {
  readonly cacheMounts: boolean;
  /** --filter until=DURATION (the only key). */
  readonly filters?: readonly string[];
  readonly keepStorage?: string;
}

export async function prune(ctx: CliContext, root: string, opts: PruneOptions = { cacheMounts: false }): Promise<number> {
  const { parseDuration, parseSize } = await import('../api/index.js');
  let untilMs: number | undefined;
  for (const f of opts.filters ?? []) {
    if (!f.startsWith('until=')) throw new UserError('cli.bad-filter', `--filter ${f}: wharf prune takes until=DURATION`, 'e.g. --filter until=24h');
    untilMs = parseDuration(f.slice('until='.length), `--filter ${f}`);
  }
  let keepStorageBytes: number | undefined;
  if (opts.keepStorage !== undefined) {
    keepStorageBytes = parseSize(opts.keepStorage);
    if (keepStorageBytes === undefined) throw new UserError('cli.bad-flag', `--keep-storage ${opts.keepStorage}: not a size`, 'write it as 10gb, 512mb or 0');
  }
  const images = await openStore(root);
  const r = await images.prune({ ...(untilMs !== undefined ? { untilMs } : {}), ...(keepStorageBytes !== undefined ? { keepStorageBytes } : {}), cacheMounts: opts.cacheMounts });
  if (untilMs !== undefined || keepStorageBytes !== undefined) ctx.stdout.write(`Deleted ${r.cacheRecordsForgotten} build cache record(s)\n`);
  warnAll(ctx, r.warnings);
  ctx.stdout.write(`Deleted ${r.blobsRemoved} blob(s), ${r.tempRemoved} temp file(s)\n`);
  if (r.contextsRemoved) ctx.stdout.write(`Deleted ${r.contextsRemoved} kept streamed build context(s)\n`);
  if (r.cacheMounts) {
    const cm = r.cacheMounts;
    for (const name of cm.removed) ctx.stdout.write(`deleted cache mount ${name}\n`);
    ctx.stdout.write(`Deleted ${cm.removed.length} cache mount(s) (${humanSize(cm.bytesFreed)})${cm.inUse ? `, kept ${cm.inUse} in use by a running build` : ''}\n`);
  }
  ctx.stdout.write(`Total reclaimed space: ${humanSize(r.bytesReclaimed + (r.cacheMounts?.bytesFreed ?? 0))}\n`);
  return 0;
}

export async function fsck(ctx: CliContext, root: string): Promise<number> {
  const r = await (await openStore(root)).fsck();
  const snaps = r.snapshotProblems;
  for (const p of r.problems) ctx.stdout.write(`${p.kind}: ${p.message}\n`);
  for (const p of snaps) ctx.stdout.write(`snapshot: ${p.message}\n`);
  for (const d of r.unreferenced) ctx.stdout.write(`unreferenced: ${d}${r.keptBy.has(d) ? ` (kept by ${KEEPERS[r.keptBy.get(d)!]?.[0] ?? r.keptBy.get(d)})` : ''}\n`);
  const n = r.problems.length + snaps.length;
  ctx.stdout.write(`fsck: ${r.checked} referenced blob(s) checked, ${n} problem(s), ${r.unreferenced.length} unreferenced blob(s)${unreferencedDetail(r.unreferenced, r.keptBy)}\n`);
  return n ? 1 : 0;
}

/** GC hooks that keep blobs no tag references: what fsck calls them, and what removes their blobs. */
const KEEPERS: Record<string, [string, string]> = {
  'build-cache': ['the build cache', '`wharf prune --keep-storage SIZE` or `--filter until=DURATION` trims it'],
  wire: ['push (compressed copies of tagged layers)', 'they go with the image'],
  containers: ['working containers (their images)', '`wharf rm` of the containers frees them'],
};

/** `: 2 used by nothing (`wharf prune` removes them), 41 kept by the build cache (…)`. */
function unreferencedDetail(all: readonly Sha256[], keptBy: ReadonlyMap<Sha256, string>): string {
  if (!all.length) return '';
  const counts = new Map<string, number>();
  for (const d of all) if (keptBy.has(d)) counts.set(keptBy.get(d)!, (counts.get(keptBy.get(d)!) ?? 0) + 1);
  const unused = all.length - keptBy.size;
  const parts = [...(unused ? [`${unused} used by nothing (\`wharf prune\` removes them)`] : [])];
  for (const [hook, c] of counts) parts.push(`${c} kept by ${KEEPERS[hook]?.[0] ?? hook}${KEEPERS[hook] ? ` (${KEEPERS[hook]![1]})` : ''}`);
  return `: ${parts.join(', ')}`;
}

/** A container by name, ID or ID prefix; undefined when there is none (an ambiguous prefix is an error). */
async function findContainer(root: string, name: string): Promise<containers.ContainerRecord | undefined> {
  const api = await loadContainers();
  try {
    return api.findRecord(root, name);
  } catch (e) {
    if (e instanceof UserError && e.code === 'container.not-found') return undefined;
    throw e;
  }
}

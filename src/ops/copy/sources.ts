import { lstat, readdir } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { BAD_PATTERN, entryIndex, goClean, goMatch, hasGlobMeta, PatternMatcher, selectSources, walkContext, type ContextEntry } from '../../context/index.js';
import { resolveInRoot } from '../../runtime/index.js';
import { appendAll, UserError } from '../../util/index.js';
import { editDistance } from '../../diag/index.js';

/** One path to copy, relative to the source root it belongs to ('' is the root itself). */
export interface SourceItem {
  readonly rel: string;
  readonly abs: string;
  readonly type: ContextEntry['type'];
  readonly mode: number;
  /** The owner in the source tree (COPY --from keeps it when no --chown is given). */
  readonly uid: number;
  readonly gid: number;
  readonly linkTarget?: string;
}

/** A matched COPY source: a directory's contents are copied, anything else is copied by name. */
export interface SourceRoot {
  readonly name: string;
  readonly items: readonly SourceItem[];
}

/** What selects files for one COPY/ADD, besides the sources themselves. */
export interface SourceSpec {
  readonly sources: readonly string[];
  /** `--parents`: keep each path relative to the root, or to a `/./` pivot in the source. */
  readonly parents: boolean;
  /** `--exclude` patterns (.dockerignore syntax), matched relative to each copied directory. */
  readonly exclude: readonly string[];
  readonly label: string;
}

export interface Selection {
  readonly roots: SourceRoot[];
  /** The tree entries the roots bring in (what a context COPY's cache key digests). */
  readonly entries: ContextEntry[];
}

/** Entries in walk order, where each one is on the host ('' is the tree's root), and how errors name the place. */
interface Tree {
  abs(path: string): string;
  readonly entries: readonly ContextEntry[];
  readonly where: string;
}

/** COPY sources from the build context (the ignore file already applied by the walk). */
export function selectContext(contextDir: string, entries: readonly ContextEntry[], spec: SourceSpec): Selection {
  const tree = { abs: (p: string) => join(contextDir, p), entries, where: 'in the build context' };
  const exclude = excludeMatcher(spec);
  const out: Selection = { roots: [], entries: [] };
  for (const source of spec.sources) merge(out, spec.parents ? pickParents(tree, ...pivot(source), exclude, spec.label, source) : pick(tree, source, exclude, spec.label));
  return out;
}

/**
 * COPY --from sources in another stage's tree at `rootfs`. A wildcard is expanded one component at
 * a time; each match (or a literal source) is then a path resolved inside the root (a symlink is
 * followed there, as BuildKit's FollowSymlinks does) and only its own subtree is walked. With
 * --parents, the literal directory above the base's first wildcard is walked.
 */
export async function selectStage(rootfs: string, spec: SourceSpec): Promise<Selection> {
  const exclude = excludeMatcher(spec);
  const where = 'in the source stage';
  const out: Selection = { roots: [], entries: [] };
  for (const source of spec.sources) {
    if (spec.parents) {
      const [base, pattern] = pivot(source);
      const { anchor, rest } = splitAtGlob(base);
      const host = await resolveInRoot(rootfs, anchor);
      const tree = { abs: (p: string) => join(host, p), entries: await walkDir(host), where };
      merge(out, pickParents(tree, rest, pattern, exclude, spec.label, source));
      continue;
    }
    const wildcard = hasGlobMeta(source);
    const paths = wildcard ? await expandInRoot(rootfs, source, spec.label) : [goClean('/' + source)];
    if (paths.length === 0) throw notFound(spec.label, source, where);
    for (const path of paths) merge(out, await pickInRoot(rootfs, path, exclude, spec.label, source, wildcard));
  }
  return out;
}

/** A path inside the stage's root as one source: the root itself, or what it resolves to. */
async function pickInRoot(rootfs: string, path: string, exclude: PatternMatcher | undefined, label: string, shown: string, wildcard: boolean): Promise<Selection> {
  const where = 'in the source stage';
  if (path === '/') return pick({ abs: (p) => join(rootfs, p), entries: await walkDir(rootfs), where }, '.', exclude, label, shown, wildcard);
  const host = await resolveInRoot(rootfs, path);
  const name = posix.basename(path);
  const st = await lstat(host).catch(() => undefined);
  if (!st) throw notFound(label, shown, where);
  const self = entryOf(name, st);
  const inside = st.isDirectory() ? (await walkDir(host)).map((e) => ({ ...e, path: `${name}/${e.path}` })) : [];
  // `name` stands for the resolved host path (never the symlink, whose target is the image's).
  const abs = (p: string) => (p === name ? host : join(host, p.slice(name.length + 1)));
  return pick({ abs, entries: [self, ...inside], where }, name, exclude, label, shown, wildcard);
}

/** A wildcard source's matches in the stage, as cleaned absolute paths in lexical order per level. */
async function expandInRoot(rootfs: string, source: string, label: string): Promise<string[]> {
  let cur = [''];
  for (const part of goClean('/' + source).split('/').filter(Boolean)) {
    const next: string[] = [];
    for (const dir of cur) {
      if (!hasGlobMeta(part)) {
        next.push(`${dir}/${part}`);
        continue;
      }
      // Resolved inside the root first: a symlinked directory is listed where the image has it.
      const names = await readdir(await resolveInRoot(rootfs, dir || '/')).catch(() => [] as string[]);
      for (const n of names.sort()) {
        const m = goMatch(part, n);
        if (m === BAD_PATTERN) throw new UserError('build.bad-source', `${label}: invalid source pattern ${JSON.stringify(source)} (syntax error in pattern)`);
        if (m) next.push(`${dir}/${n}`);
      }
    }
    cur = next;
  }
  const exists = await Promise.all(cur.map(async (p) => (await lstat(await resolveInRoot(rootfs, p)).catch(() => undefined)) !== undefined));
  return cur.filter((_, i) => exists[i]);
}

function merge(into: Selection, more: Selection): void {
  appendAll(into.roots, more.roots);
  appendAll(into.entries, more.entries);
}

function excludeMatcher(spec: SourceSpec): PatternMatcher | undefined {
  if (spec.exclude.length === 0) return undefined;
  const pm = PatternMatcher.create(spec.exclude);
  if (!pm.ok) throw new UserError('build.bad-exclude', `${spec.label}: --exclude=${pm.error.pattern}: ${pm.error.message}`, 'write a .dockerignore-style pattern such as *.log or **/tmp');
  return pm.value;
}

/** `entries`: the tree the source was looked up in, for a did-you-mean among the paths near it. */
function notFound(label: string, source: string, where: string, entries?: readonly ContextEntry[]): UserError {
  const near = entries ? nearPaths(goClean('/' + source).slice(1), entries) : [];
  const base = where.includes('context') ? 'check the path and the .dockerignore file' : undefined;
  const hint = near.length ? `did you mean ${near.map((p) => JSON.stringify(p)).join(' or ')}?${base ? ` (else ${base})` : ''}` : base;
  return new UserError('build.source-not-found', `${label}: "${source}" not found ${where}`, hint, { subject: source });
}

/**
 * Paths of the tree a missing one was probably meant to be: those in the same directory whose
 * name is a few edits away (a typo, a wrong extension) or differs only in case; at most three.
 */
function nearPaths(missing: string, entries: readonly ContextEntry[]): string[] {
  const dir = posix.dirname(missing);
  const name = posix.basename(missing);
  const scored: [number, string][] = [];
  for (const e of entries) {
    if (posix.dirname(e.path) !== dir) continue;
    const other = posix.basename(e.path);
    const d = other.toLowerCase() === name.toLowerCase() ? 0 : editDistance(name, other);
    if (d <= Math.max(2, Math.floor(name.length / 3))) scored.push([d, e.path]);
  }
  return scored.sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : 1)).slice(0, 3).map(([, p]) => p);
}

/**
 * A source that is a symlink whose target is not in the tree. Docker resolves a source symlink
 * inside the context (an absolute target starts at the context root, `..` stops there), so a link
 * to a host path outside the context can never be copied; saying "not found" hid why.
 */
function danglingLink(tree: Tree, path: string, label: string, shown = path): UserError {
  const link = tree.entries[entryIndex(tree.entries).get(path)!]!;
  const target = link.linkTarget ?? '';
  const outside = tree.where.includes('context') && (target.startsWith('/') || posix.normalize(posix.join(posix.dirname(path), target)).startsWith('../'));
  return new UserError(
    'build.source-link-outside',
    outside
      ? `${label}: "${path}" is a symlink to ${target}, which points outside the build context (COPY resolves symlinks inside the context, so it cannot follow it)`
      : `${label}: "${path}" is a symlink to ${target}, which is not ${tree.where} (missing, a symlink loop, or excluded by .dockerignore)`,
    outside ? 'copy the target into the context (or make the context a directory that contains it) and point the link at it with a relative path' : 'check the link target and the .dockerignore file',
    { subject: shown },
  );
}

/** `a/b/./c/d` → base `a/b`, pattern `c/d` (BuildKit cuts at the first `/./`); no pivot → the root. */
function pivot(source: string): [string, string] {
  const i = source.indexOf('/./');
  const [base, pattern] = i < 0 ? ['/', source] : [source.slice(0, i) || '/', source.slice(i + 3)];
  return [base, goClean('/' + pattern).slice(1)];
}

/** The literal directory above a source's first wildcard component, and the rest below it. */
function splitAtGlob(source: string): { anchor: string; rest: string } {
  const parts = goClean('/' + source).split('/').filter(Boolean);
  const i = parts.findIndex((p) => hasGlobMeta(p));
  if (i < 0) return { anchor: '/' + parts.join('/'), rest: '.' };
  return { anchor: '/' + parts.slice(0, i).join('/'), rest: parts.slice(i).join('/') };
}

async function walkDir(host: string): Promise<ContextEntry[]> {
  const st = await lstat(host).catch(() => undefined);
  return st?.isDirectory() ? walkContext(host) : [];
}

function entryOf(path: string, st: Awaited<ReturnType<typeof lstat>>): ContextEntry {
  const type = st.isDirectory() ? 'dir' : st.isFile() ? 'file' : st.isSymbolicLink() ? 'symlink' : 'other';
  return {
    path, type, mode: Number(st.mode) & 0o7777, uid: Number(st.uid), gid: Number(st.gid), size: Number(st.size), mtimeMs: 0, statSig: '',
  };
}

/** The entries below `base` (undefined: the tree root), contiguous after it in walk order. */
function under(tree: Tree, base: string | undefined): readonly ContextEntry[] {
  if (base === undefined) return tree.entries;
  const i = entryIndex(tree.entries).get(base) ?? tree.entries.length;
  const out: ContextEntry[] = [];
  for (let j = i + 1; j < tree.entries.length && tree.entries[j]!.path.startsWith(base + '/'); j++) out.push(tree.entries[j]!);
  return out;
}

const relTo = (base: string | undefined, path: string) => (base === undefined ? path : path.slice(base.length + 1));
const itemOf = (tree: Tree, rel: string, e: ContextEntry): SourceItem => ({
  rel, abs: tree.abs(e.path), type: e.type, mode: e.mode, uid: e.uid, gid: e.gid, ...(e.linkTarget !== undefined ? { linkTarget: e.linkTarget } : {}),
});
const rootDirItem = (abs: string): SourceItem => ({ rel: '', abs, type: 'dir', mode: 0o755, uid: 0, gid: 0 });

/**
 * A root whose items are listed when first asked for: a COPY whose cache key hits needs only the
 * selected entries, and listing 50,000 items with host paths was a tenth of such a no-op build.
 */
function lazyRoot(name: string, list: () => SourceItem[]): SourceRoot {
  let items: SourceItem[] | undefined;
  return {
    name,
    get items() {
      return (items ??= list());
    },
  };
}

/** A plain source: a path or a Go filepath.Match glob, each match copied by name or as dir contents. */
function pick(tree: Tree, source: string, exclude: PatternMatcher | undefined, label: string, shown = source, wildcard = hasGlobMeta(source)): Selection {
  const sel = selectSources(tree.entries, [source]);
  if (!sel.ok) throw new UserError('build.bad-source', `${label}: ${sel.error.message.replace(JSON.stringify(source), JSON.stringify(shown))}`);
  const s = sel.value[0]!;
  if (s.roots.length === 0) throw s.dangling.length > 0 ? danglingLink(tree, s.dangling[0]!, label, shown) : notFound(label, shown, tree.where, tree.entries);
  const dropped = new Set<string>();
  const roots: SourceRoot[] = [];
  for (const r of s.roots) {
    const base = r.entry?.path;
    const inside = under(tree, base);
    // A wildcard's match is itself tested by name (`--exclude=*.txt hom*` leaves out home.txt).
    if (exclude && wildcard && exclude.matchesOrParentMatches(posix.basename(r.path))) {
      for (const e of [...(r.entry ? [r.entry] : []), ...inside]) dropped.add(e.path);
      continue;
    }
    const left = new Set<string>();
    if (exclude) {
      for (const e of inside) {
        if (!exclude.matchesOrParentMatches(relTo(base, e.path))) continue;
        left.add(e.path);
        dropped.add(e.path);
      }
    }
    const entry = r.entry;
    roots.push(lazyRoot(posix.basename(r.path), () => {
      const items: SourceItem[] = entry ? [itemOf(tree, '', entry)] : [rootDirItem(tree.abs(''))];
      for (const e of inside) if (!left.has(e.path)) items.push(itemOf(tree, relTo(base, e.path), e));
      return items;
    }));
  }
  return { roots, entries: s.entries.filter((e) => !dropped.has(e.path)) };
}

/**
 * `--parents`: each directory the base selects (a path or glob; the tree root without a pivot)
 * contributes the paths below it that match `pattern` (with `**`), plus the directories holding
 * them, all kept at their path relative to the base. A literal base and pattern must exist.
 */
function pickParents(tree: Tree, base: string, pattern: string, exclude: PatternMatcher | undefined, label: string, shown: string): Selection {
  const include = PatternMatcher.create([pattern]);
  if (!include.ok) throw new UserError('build.bad-source', `${label}: invalid source pattern ${JSON.stringify(shown)} (${include.error.message})`);
  const required = !hasGlobMeta(base) && !hasGlobMeta(pattern);
  const sel = selectSources(tree.entries, [goClean('/' + base).slice(1) || '.']);
  if (!sel.ok) throw new UserError('build.bad-source', `${label}: ${sel.error.message}`);
  const roots: SourceRoot[] = [];
  const entries: ContextEntry[] = [];
  for (const r of sel.value[0]!.roots) {
    if (r.entry && r.entry.type !== 'dir') continue;
    const b = r.entry?.path;
    const inside = under(tree, b);
    const keep = new Set<string>();
    for (const e of inside) {
      const rel = relTo(b, e.path);
      if (!include.value.matchesOrParentMatches(rel) || exclude?.matchesOrParentMatches(rel)) continue;
      keep.add(rel);
      // The directories holding a kept path come along (with their own modes).
      for (let d = posix.dirname(rel); d !== '.'; d = posix.dirname(d)) keep.add(d);
    }
    const kept = inside.filter((e) => keep.has(relTo(b, e.path)));
    if (kept.length === 0) continue;
    if (r.entry?.type === 'dir' && r.path !== r.entry.path) entries.push(...sel.value[0]!.entries.filter((e) => e.path === r.path));
    appendAll(entries, kept);
    roots.push({ name: '', items: [rootDirItem(tree.abs(b ?? '')), ...kept.map((e) => itemOf(tree, relTo(b, e.path), e))] });
  }
  if (required && roots.length === 0) throw notFound(label, shown, tree.where, tree.entries);
  return { roots, entries };
}

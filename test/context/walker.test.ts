import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, mkdir, writeFile, symlink, link, rm, chmod, chown } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { conformanceDir } from '../helpers/paths.js';
import { reportConformance } from '../helpers/report.js';
import { PatternMatcher, walkContext, type ContextEntry } from '../../src/context/index.js';
import type { WalkOptions } from '../../src/context/walk.js';

interface WalkerCase {
  test: string;
  index: number;
  tree: string[];
  include: string[];
  exclude: string[];
  followPaths: string[];
  expected?: string[];
  expectedError?: string;
  note?: string;
}

const { cases } = JSON.parse(readFileSync(join(conformanceDir, 'dockerignore', 'fsutil', 'walker_cases.json'), 'utf8')) as { cases: WalkerCase[] };
const scratch = await mkdtemp(join(tmpdir(), 'wharf-walker-'));
// The permission cases walk as an unprivileged user, who must be able to reach the trees.
await chmod(scratch, 0o755);
after(() => rm(scratch, { recursive: true, force: true }));

/** Builds fsutil's test tree: `ADD <path> dir | file [data | >hardlink-target] | symlink <target>`. */
async function buildTree(root: string, lines: string[]): Promise<void> {
  for (const line of lines) {
    const [, path, kind, ...rest] = line.trim().split(' ');
    const abs = join(root, path!);
    if (kind === 'dir') await mkdir(abs, { mode: 0o700 });
    else if (kind === 'symlink') await symlink(rest.join(' '), abs);
    else if (kind === 'file' && rest[0]?.startsWith('>')) await link(join(root, rest[0].slice(1)), abs);
    else await writeFile(abs, rest.join(' '), { mode: 0o644 });
  }
}

const listing = (entries: readonly ContextEntry[]): string[] =>
  entries.map((e) => `${e.type === 'symlink' ? `symlink:${e.linkTarget}` : e.type} ${e.path}`);

function options(c: WalkerCase): WalkOptions {
  const mk = (ps: string[]): PatternMatcher => {
    const r = PatternMatcher.create(ps);
    if (!r.ok) throw new Error(r.error.message);
    return r.value;
  };
  return { ...(c.include.length ? { include: mk(c.include) } : {}), ...(c.exclude.length ? { exclude: mk(c.exclude) } : {}) };
}

/**
 * The permission cases need a directory the walker cannot read, which root always can: the tree
 * is handed to uid 65534 with foo/bar at mode 0000 and the walk runs in a child as that user. The
 * child loads wharf's modules before it drops to that user: the checkout may sit in a directory
 * only root can enter (a `mktemp -d` clone).
 */
async function walkAsNobody(root: string, c: WalkerCase): Promise<string[] | { error: string }> {
  await chmod(root, 0o755);
  await chown(root, 65534, 65534);
  for (const line of c.tree) await chown(join(root, line.split(' ')[1]!), 65534, 65534);
  await chmod(join(root, 'foo', 'bar'), 0);
  const mod = new URL('../../src/context/index.js', import.meta.url).href;
  const script = `
    const { PatternMatcher, walkContext } = await import(${JSON.stringify(mod)});
    process.setgid(65534); process.setuid(65534);
    const mk = (ps) => ps.length ? PatternMatcher.create(ps).value : undefined;
    try {
      const es = await walkContext(${JSON.stringify(root)}, { include: mk(${JSON.stringify(c.include)}), exclude: mk(${JSON.stringify(c.exclude)}) });
      process.stdout.write(JSON.stringify(es.map((e) => e.type + ' ' + e.path)));
    } catch (e) { process.stdout.write(JSON.stringify({ error: e.message })); }`;
  const res = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`walker child failed: ${res.stderr}`);
  return JSON.parse(res.stdout) as string[] | { error: string };
}

test('tonistiigi/fsutil walker cases: include/exclude listing in lexical order', async () => {
  const failures: string[] = [];
  for (const [i, c] of cases.entries()) {
    const root = join(scratch, String(i));
    await mkdir(root);
    await buildTree(root, c.tree);
    const name = `${c.test}#${c.index}`;
    // followPaths (BuildKit's symlink-following for named paths) is not part of a context walk;
    // the only case using it expects the plain listing, which is what a walk without it gives.
    let got: string[] | { error: string };
    if (c.test === 'TestWalkerPermissionDenied') got = await walkAsNobody(root, c);
    else {
      try {
        got = listing(await walkContext(root, options(c)));
      } catch (e) {
        got = { error: (e as Error).message };
      }
    }
    if (c.expectedError !== undefined) {
      // Our message also names the unreadable directory: it must be foo/bar, not the tree itself.
      if (Array.isArray(got) || !got.error.includes(c.expectedError) || !got.error.includes('"foo/bar"')) failures.push(`${name}: got ${JSON.stringify(got)}, want error ${c.expectedError}`);
    } else if (JSON.stringify(got) !== JSON.stringify(c.expected)) {
      failures.push(`${name}: got ${JSON.stringify(got)}, want ${JSON.stringify(c.expected)}`);
    }
  }
  reportConformance('dockerignore/fsutil-walker', cases.length - failures.length, cases.length);
  assert.deepEqual(failures, []);
});

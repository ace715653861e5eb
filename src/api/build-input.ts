// What `wharf build` reads: the context directory and the Dockerfile, from disk or from stdin.
import { mkdir, readdir, rm } from 'node:fs/promises';
import { StatCache } from '../context/index.js';
import { join, relative, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { applyLayer, detectCompression, peekStream, BLOCK, decodeHeader } from '../layer/index.js';
import { resolveInRoot } from '../runtime/index.js';
import { tryAcquireLock, type Lock, type Store } from '../store/index.js';
import { readRegularFile, readRegularFileSync, sha256HexOf, UserError } from '../util/index.js';

/** Far larger than any real Dockerfile; a bigger file is refused rather than read into memory. */
export const MAX_DOCKERFILE_BYTES = 16 * 1024 * 1024;

export interface BuildInput {
  readonly contextDir: string;
  /** Absolute path of the Dockerfile (it picks `<Dockerfile>.dockerignore`); may not exist for stdin. */
  readonly dockerfilePath: string;
  /** The name diagnostics show. */
  readonly dockerfileName: string;
  readonly text: string;
  /**
   * False for a context unpacked from stdin: its temp dir's path is new each build, so a stat cache
   * keyed by it would only pile up files that are never read again.
   */
  readonly persistentStatCache: boolean;
  /** A streamed context's name across builds (InputRequest.streamKey), when it was given one. */
  readonly streamKey?: string;
  /** Removes what was made for the build (the unpacked stdin context). */
  dispose(): Promise<void>;
}

export interface InputRequest {
  readonly cwd: string;
  /** The context argument: a directory, or `-` for a tar (or a bare Dockerfile) on stdin. */
  readonly context: string;
  /** `-f`: a path (inside the tar for context `-`), `-` for stdin, or undefined for `Dockerfile`. */
  readonly file: string | undefined;
  /** What `-f -` reads (and a streamed context is): absent for a library call that has none, read as empty. */
  readonly stdin: Readable | undefined;
  readonly signal: AbortSignal;
  /**
   * For a context tar: what names it across builds (BuildOptions.contextKey). It is then unpacked
   * over the previous one of that name, kept in the store (`context/streams/`): files the tar
   * describes as they are on disk are not written again. A build of the same name already running
   * gets a temp dir as without a key.
   */
  readonly streamKey?: string;
}

export async function openBuildInput(store: Store, req: InputRequest): Promise<BuildInput> {
  // Ctrl-C ends stdin, so whatever reads it fails (and a stdin context's temp dir goes).
  const onAbort = () => req.stdin?.destroy(req.signal.reason as Error);
  req.signal.addEventListener('abort', onAbort, { once: true });
  try {
    req.signal.throwIfAborted();
    return req.context === '-' ? await stdinInput(store, req) : await dirInput(req);
  } finally {
    req.signal.removeEventListener('abort', onAbort);
  }
}

async function dirInput(req: InputRequest): Promise<BuildInput> {
  const contextDir = resolve(req.cwd, req.context);
  // `-f -`: the Dockerfile from stdin; the context's own .dockerignore applies then.
  const fromStdin = req.file === '-';
  const path = req.file && !fromStdin ? resolve(req.cwd, req.file) : join(contextDir, 'Dockerfile');
  let text: string;
  try {
    // Not blocking, regular only, capped: a Dockerfile that is a FIFO or a device in a checked-out
    // context must not hang the build or be read without end (a symlink is followed, as before).
    text = fromStdin
      ? req.stdin ? await readAll(req.stdin) : ''
      : readRegularFileSync(path, { maxBytes: MAX_DOCKERFILE_BYTES, what: `the Dockerfile ${path}`, followSymlink: true }).toString('utf8');
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw unreadable(fromStdin ? 'stdin' : path, e);
  }
  const dockerfileName = fromStdin ? 'Dockerfile' : relative(req.cwd, path) || path;
  return { contextDir, dockerfilePath: path, dockerfileName, text, persistentStatCache: true, dispose: async () => {} };
}

/**
 * `wharf build - < ctx.tar[.gz|.bz2|.xz|.zst]`: the tar is unpacked into a temp dir by the layer
 * module's safe applier (no entry lands outside it, `.wh.*` names are plain files), and the
 * Dockerfile is read from inside it. Stdin that is not a tar is the Dockerfile itself, built with
 * an empty context, as `docker build - < Dockerfile` does.
 */
async function stdinInput(store: Store, req: InputRequest): Promise<BuildInput> {
  if (req.file === '-') throw new UserError('build.stdin-twice', 'the context and the Dockerfile cannot both come from stdin', 'give a context directory, or pass the Dockerfile inside the tar');
  if (!req.stdin) throw new Error('a context read from stdin needs its stream');
  const { head, rest } = await peekStream(req.stdin, BLOCK);
  const reused = isTar(head) && req.streamKey !== undefined ? await reusedDir(store, req.streamKey) : undefined;
  const tmp = reused ? undefined : await store.tempDir('stdin-context');
  const dispose = reused ? () => reused.lock.release() : () => rm(tmp!, { recursive: true, force: true });
  const key = req.streamKey !== undefined ? { streamKey: req.streamKey } : {};
  try {
    const contextDir = reused ? reused.dir : join(tmp!, 'context');
    await mkdir(contextDir, { recursive: true });
    const name = req.file ?? 'Dockerfile';
    if (!isTar(head)) {
      if (req.file) throw new UserError('build.stdin-not-tar', `-f ${req.file}: stdin is not a tar, so there is no file to pick from it`, 'pipe a tar of the context, or drop -f to build the Dockerfile read from stdin');
      const text = await readAll(rest);
      return { contextDir, dockerfilePath: join(contextDir, 'Dockerfile'), dockerfileName: 'Dockerfile', text, persistentStatCache: false, dispose };
    }
    // Streamed straight into the applier: nothing is spooled to disk first.
    await applyLayer(rest, contextDir, { form: 'plain', whiteouts: 'literal', ...(reused ? { reuse: true } : {}) }).catch(async (e: unknown) => {
      // Half of one tar over half of another: the next build starts afresh.
      if (reused) await rm(reused.dir, { recursive: true, force: true });
      throw e;
    });
    // Resolved inside the context: a Dockerfile that is a symlink cannot name a host file.
    const path = await resolveInRoot(contextDir, name);
    let text: string;
    try {
      // The tar chose what this is: a FIFO entry would block the read forever.
      text = (await readRegularFile(path, { maxBytes: MAX_DOCKERFILE_BYTES, what: `${name} in the context read from stdin` })).toString('utf8');
    } catch (e) {
      if (e instanceof UserError) throw e;
      throw unreadable(`${name} in the context read from stdin`, e);
    }
    // A reused dir keeps its path, inodes and ctimes: the ordinary stat cache of a directory applies.
    return { contextDir, dockerfilePath: path, dockerfileName: name, text, persistentStatCache: reused !== undefined, ...key, dispose };
  } catch (e) {
    await dispose();
    throw e;
  }
}

const streamsDir = (root: string) => join(root, 'context', 'streams');

/** Removes the kept dirs of streamed contexts no build is using (with their stat caches); how many. */
export async function pruneStreamedContexts(root: string): Promise<number> {
  let removed = 0;
  for (const name of await readdir(streamsDir(root)).catch(() => [] as string[])) {
    if (name.endsWith('.lock')) continue;
    const dir = join(streamsDir(root), name);
    const lock = await tryAcquireLock(`${dir}.lock`, join(root, 'tmp'));
    if (!lock) continue; // a build is unpacking into it or reading it
    try {
      await rm(dir, { recursive: true, force: true });
      await StatCache.forget(root, dir);
      removed++;
    } finally {
      await lock.release();
    }
  }
  return removed;
}

/** The kept context dir of a stream key, locked for this build; undefined while another build holds it. */
async function reusedDir(store: Store, streamKey: string): Promise<{ dir: string; lock: Lock } | undefined> {
  const dir = join(streamsDir(store.root), sha256HexOf(streamKey).slice(0, 32));
  await mkdir(join(dir, '..'), { recursive: true });
  const lock = await tryAcquireLock(`${dir}.lock`, join(store.root, 'tmp'));
  return lock ? { dir, lock } : undefined;
}

/** Compressed, or a valid tar header (or the zero block of an empty tar) in the first block. */
function isTar(head: Buffer): boolean {
  if (head.length >= 4 && detectCompression(head) !== 'none') return true;
  return head.length >= BLOCK && decodeHeader(head.subarray(0, BLOCK)).kind !== 'bad';
}

/** A Dockerfile piped on stdin, refused past the same cap (`< /dev/zero` must not fill memory). */
async function readAll(src: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of src) {
    n += (c as Buffer).length;
    if (n > MAX_DOCKERFILE_BYTES) {
      src.destroy();
      throw new UserError('build.dockerfile-too-large', `the Dockerfile read from stdin is more than the ${MAX_DOCKERFILE_BYTES} bytes allowed`, 'pipe a Dockerfile, or a tar of the context');
    }
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function unreadable(what: string, e: unknown): UserError {
  const code = (e as NodeJS.ErrnoException).code;
  return new UserError('build.dockerfile-unreadable', `cannot read ${what}: ${code ?? String(e)}`, 'pass the Dockerfile with -f');
}

/**
 * The `contextKey` option of a streamed context as `wharf serve` and `wharf build -` name it: the same
 * tags, target and Dockerfile are taken for the same project (two entry points, one cache). Without
 * a tag there is nothing to tell two projects apart (a file of theirs with the same size and mtime
 * second would be taken from the other's tree), so an untagged build's context is hashed whole.
 */
export function streamedContextKey(tags: readonly string[], target: string | undefined, dockerfile: string | undefined): { contextKey?: string } {
  if (tags.length === 0) return {};
  return { contextKey: JSON.stringify({ tags: [...tags].sort(), target: target ?? '', dockerfile: dockerfile || 'Dockerfile' }) };
}

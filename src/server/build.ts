/**
 * POST /build, the classic (non-BuildKit) protocol docker 20.10 speaks with DOCKER_BUILDKIT=0: the
 * context tar is the body (plain or compressed, unpacked by the same checked applier as `wharf
 * build -`, which refuses `..`, absolute paths and links out); the reply streams
 * `{"stream": …}` lines, `{"aux": {"ID": …}}` with the image ID, and `{"errorDetail": …}` on failure.
 */
import { Transform } from 'node:stream';
import { build, streamedContextKey, DiagnosticError, StepFailure, parseBuildNetwork, familiarName, formatDiagnostic, parseImageName, type BuildEvent } from '../api/index.js';
import { HttpError, jsonStream, streamError } from './respond.js';
import type { Request } from './types.js';

const flag = (q: URLSearchParams, name: string): boolean => ['1', 'true', 'True'].includes(q.get(name) ?? '');

function jsonParam<T>(q: URLSearchParams, name: string, check: (v: unknown) => v is T): T | undefined {
  const raw = q.get(name);
  if (!raw) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    throw new HttpError(400, `build: query parameter ${name} is not JSON: ${raw.slice(0, 80)}`);
  }
  if (!check(v)) throw new HttpError(400, `build: query parameter ${name} has the wrong shape`);
  return v;
}

const isStringMap = (v: unknown): v is Record<string, string | null> =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string' || x === null);
const isStringList = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

/** The body, cut off with an error past `max` bytes (Content-Length can be absent: chunked). */
function capped(max: number): Transform {
  let n = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      n += chunk.length;
      if (n > max) done(new HttpError(413, `the request body is over the server's limit of ${max} bytes`));
      else done(null, chunk);
    },
  });
}

export async function handleBuild(r: Request): Promise<void> {
  const q = r.query;
  if (q.get('version') === '2') throw new HttpError(400, 'build: wharf serve speaks the classic build protocol, not BuildKit\'s: set DOCKER_BUILDKIT=0');
  if (q.get('remote')) throw new HttpError(400, `build: remote contexts (${q.get('remote')!.slice(0, 80)}) are not supported: send the context as the request body`);
  const net = parseBuildNetwork(q.get('networkmode') || 'default', []);
  if (!net.ok) throw new HttpError(400, `build: networkmode: ${net.error.replace(/^--network /, '')}`);
  const buildArgs: Record<string, string> = {};
  for (const [k, v] of Object.entries(jsonParam(q, 'buildargs', isStringMap) ?? {})) if (v !== null) buildArgs[k] = v;
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(jsonParam(q, 'labels', isStringMap) ?? {})) if (v !== null) labels[k] = v;
  const cacheFrom = jsonParam(q, 'cachefrom', isStringList) ?? [];
  const tags = q.getAll('t').filter(Boolean);
  const quiet = flag(q, 'q');
  const max = r.options.maxBodyBytes ?? DEFAULT_MAX_BODY;
  const declared = Number(r.req.headers['content-length']);
  if (declared > max) throw new HttpError(413, `build: the context (${declared} bytes) is over the server's limit of ${max} bytes`);

  const out = jsonStream(r.res);
  const say = (line: string) => {
    if (!quiet) out.send({ stream: line.endsWith('\n') ? line : line + '\n' });
  };
  const body = r.req.pipe(capped(max));
  r.req.on('error', (e) => body.destroy(e));
  try {
    const result = await build(
      {
        root: r.options.root,
        context: body,
        // The same tags, target and Dockerfile name the same project across builds: its files whose
        // tar headers are unchanged are not hashed again (docker's clients send a fresh tar each time).
        ...streamedContextKey(tags, q.get('target') ?? undefined, stableDockerfileName(q.get('dockerfile'))),
        ...(q.get('dockerfile') ? { dockerfile: q.get('dockerfile')! } : {}),
        tags,
        buildArgs,
        ...(q.get('target') ? { target: q.get('target')! } : {}),
        labels,
        noCache: flag(q, 'nocache'),
        pull: flag(q, 'pull'),
        ...(q.get('platform') ? { platform: q.get('platform')! } : {}),
        network: net.value.network,
        // docker's classic cachefrom names images; their inline cache is the closest wharf reads.
        cacheFrom: cacheFrom.map((ref) => `type=registry,ref=${ref}`),
        registry: r.options.registry,
        ...(r.options.searchPath !== undefined ? { searchPath: r.options.searchPath } : {}),
        ...(r.options.runtimeCacheDir !== undefined ? { runtimeCacheDir: r.options.runtimeCacheDir } : {}),
      },
      { onEvent: (e) => render(e, say), onDiagnostic: (d) => say(formatDiagnostic(d)), signal: r.signal },
    );
    const c = result.metadata['wharf.context'];
    r.note(`context ${c.files} files, ${c.filesHashed} hashed (${c.bytesHashed} bytes), ${c.filesFromStatCache} from the stat cache`);
    out.send({ aux: { ID: result.imageId } });
    // With q=1 the ID is the only output: the docker CLI prints the stream it was sent.
    if (quiet) out.send({ stream: `${result.imageId}\n` });
    say(`Successfully built ${result.imageId.slice(7, 19)}`);
    for (const t of tags) {
      const ref = parseImageName(t);
      say(`Successfully tagged ${familiarName(ref.tag ? ref : { ...ref, tag: 'latest' })}`);
    }
  } catch (e) {
    body.destroy();
    if (r.signal.aborted) throw e; // nobody to tell; the log line says it
    // The diagnostics were streamed; the error names how many.
    // A failed step is said at its Dockerfile line, with the caret and hint the CLI prints.
    const err =
      e instanceof DiagnosticError
        ? new Error(`the Dockerfile has ${e.diagnostics.length} error(s): ${e.diagnostics.map((d) => d.message).join('; ')}`)
        : e instanceof StepFailure
          ? new Error(formatDiagnostic(e.located.diagnostic))
          : e;
    out.send(streamError(err));
  }
  out.end();
}

export const DEFAULT_MAX_BODY = 4 * 1024 ** 3;

/**
 * The docker CLI sends a Dockerfile from outside the context inside the tar under a new random name
 * each build (`.dockerfile.<20 hex>`): as part of the context's cache key it would make every
 * build a stranger to the last one.
 */
function stableDockerfileName(name: string | null): string | undefined {
  if (!name) return undefined;
  return /^\.dockerfile\.[0-9a-f]+$/.test(name) ? '.dockerfile (from outside the context)' : name;
}

/** Build events as the classic builder's lines. */
function render(e: BuildEvent, say: (line: string) => void): void {
  switch (e.type) {
    case 'step-started':
      say(`Step ${e.step.position}/${e.step.total} : ${e.step.instruction}`);
      return;
    case 'step-cached':
      say(`Step ${e.step.position}/${e.step.total} : ${e.step.instruction}`);
      if (!e.step.instruction.startsWith('FROM')) say(' ---> Using cache');
      say(` ---> ${e.key.replace(/^sha256:/, '').slice(0, 12)}`);
      return;
    case 'step-log':
      say(e.line);
      return;
    case 'step-done':
      say(` ---> ${e.key.replace(/^sha256:/, '').slice(0, 12)}`);
      return;
    case 'step-error':
      say(`error: ${e.line !== undefined ? `line ${e.line}: ` : ''}${e.step.instruction}: ${e.message}`);
      return;
    case 'pull':
      if (e.state === 'resolved') say(`Pulling ${e.image}`);
      return;
    case 'cache-warning':
      say(`warning: ${e.message}`);
      return;
    default:
      return;
  }
}

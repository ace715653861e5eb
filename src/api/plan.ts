/**
 * `plan(options)`: what `wharf plan` shows, without building: the Dockerfile read and planned for a
 * target and platform with the build args, its diagnostics, and with `cacheOf` (a store root)
 * which steps have a cache record now. Rendering (text, JSON, dot) is the caller's.
 */
import { join, relative, resolve } from 'node:path';
import { SourceFile, type Diagnostic } from '../diag/index.js';
import { parseDockerfile } from '../syntax/index.js';
import { planDockerfile, type Plan } from '../plan/index.js';
import { hostPlatform, readRegularFile, UserError } from '../util/index.js';
import { MAX_DOCKERFILE_BYTES } from './build-input.js';
import { parsePlatform } from './build-args.js';
import { checkBaseReference } from './base-reference.js';
import { planCacheState } from './plan-cache.js';

export interface PlanOptions {
  /** The context directory. */
  readonly context: string;
  /** The Dockerfile's path; `Dockerfile` in the context by default. */
  readonly dockerfile?: string;
  /** Relative paths resolve from here; the process's by default. Diagnostics name the file relative to it. */
  readonly cwd?: string;
  readonly target?: string;
  /** The target platform; this host's by default, as build has it. */
  readonly platform?: string;
  readonly buildArgs?: ReadonlyMap<string, string> | Readonly<Record<string, string>>;
  /** A store root: also say which steps have a cache record now (as if the build ran at once). */
  readonly cacheOf?: string;
}

export interface PlanResult {
  readonly plan?: Plan;
  readonly diagnostics: readonly Diagnostic[];
  /** With cacheOf: filesystem vertex id → a cache record exists for its key now. */
  readonly cached?: ReadonlyMap<string, boolean>;
}

export async function plan(o: PlanOptions): Promise<PlanResult> {
  const cwd = o.cwd ?? resolve('.');
  const buildPlatform = hostPlatform();
  const targetPlatform = o.platform === undefined ? buildPlatform : parsePlatform(o.platform);
  const contextDir = resolve(cwd, o.context);
  const path = o.dockerfile ? resolve(cwd, o.dockerfile) : join(contextDir, 'Dockerfile');
  let text: string;
  try {
    // As build reads it: a FIFO or device in the context's place must not hang or exhaust `plan`.
    text = (await readRegularFile(path, { maxBytes: MAX_DOCKERFILE_BYTES, what: `the Dockerfile ${path}`, followSymlink: true })).toString('utf8');
  } catch (e) {
    if (e instanceof UserError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError('plan.dockerfile-unreadable', `cannot read ${path}: ${code ?? String(e)}`, code === 'ENOENT' ? 'pass the Dockerfile with -f' : undefined);
  }
  const file = new SourceFile(relative(cwd, path) || path, text);
  const buildArgs = o.buildArgs instanceof Map ? o.buildArgs : new Map(Object.entries(o.buildArgs ?? {}));
  if (o.cacheOf !== undefined) {
    return planCacheState({
      root: o.cacheOf,
      contextDir,
      dockerfilePath: path,
      dockerfileName: file.name,
      text,
      buildArgs,
      ...(o.target !== undefined ? { target: o.target } : {}),
      ...(o.platform !== undefined ? { platform: o.platform } : {}),
    });
  }
  const parsed = parseDockerfile(file);
  if (!parsed.ast) return { diagnostics: parsed.diagnostics };
  const planned = planDockerfile(parsed.ast, { buildArgs, target: o.target, targetPlatform, buildPlatform, checkReference: checkBaseReference }, parsed.diagnostics);
  return { ...(planned.plan ? { plan: planned.plan } : {}), diagnostics: planned.diagnostics };
}

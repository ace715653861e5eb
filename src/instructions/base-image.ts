/**
 * Base images for the front end, asked for while the stages resolve: expansion after FROM sees the
 * image's Env, and its ONBUILD triggers run first in the stage. The front end never reads a store:
 * the caller injects a BaseImageResolver (the CLI's reads the local store).
 */
import { SourceFile, type Diagnostic } from '../diag/index.js';
import { parseDockerfile, type Dockerfile } from '../syntax/index.js';
import { envFromList } from '../shell/index.js';
import { parseInstruction } from './parse.js';
import { walkStages } from './scope.js';
import type { BaseImage, ResolveOptions, Resolution } from './stages.js';
import type { TypedInstruction } from './types.js';

/** The part of an image config the front end reads (docker's field names, as the config has them). */
export interface BaseImageConfig {
  readonly Env?: readonly string[] | null;
  readonly OnBuild?: readonly string[] | null;
}

export interface BaseImageResolver {
  /**
   * The config of the image `ref` names (as the FROM line gives it, expanded), or undefined when
   * it is unknown: the stage then starts with the default PATH only, and the FROM step itself
   * reports a missing image.
   */
  config(ref: string): Promise<BaseImageConfig | undefined>;
}

/**
 * resolveStages with base images from `images`, each asked for once. `baseDiagnostics` are about
 * the images' own ONBUILD text (a broken trigger points at `<ref> ONBUILD`, not the Dockerfile).
 */
export async function resolveStagesAsync(
  ast: Dockerfile,
  opts: Omit<ResolveOptions, 'imageEnv' | 'imageTriggers'>,
  images: BaseImageResolver,
): Promise<Resolution & { readonly baseDiagnostics: Diagnostic[] }> {
  const baseDiagnostics: Diagnostic[] = [];
  const known = new Map<string, BaseImage | undefined>();
  const walk = walkStages(ast, opts);
  for (let r = walk.next(); ; ) {
    if (r.done) return { ...r.value, baseDiagnostics };
    const ref = r.value;
    if (!known.has(ref)) {
      // `scratch` is no image (any spelling of it: a stage FROM SCRATCH is empty too).
      const config = ref.toLowerCase() === 'scratch' ? undefined : await images.config(ref);
      known.set(ref, config && baseImage(ref, config, baseDiagnostics));
    }
    r = walk.next(known.get(ref));
  }
}

function baseImage(ref: string, config: BaseImageConfig, diags: Diagnostic[]): BaseImage {
  return { env: envFromList(config.Env ?? []), triggers: parseTriggers(ref, config.OnBuild ?? [], diags) };
}

/** A base image's ONBUILD triggers as instructions; a broken one is a diagnostic against its own text. */
function parseTriggers(ref: string, onBuild: readonly string[], diags: Diagnostic[]): TypedInstruction[] {
  const out: TypedInstruction[] = [];
  for (const text of onBuild) {
    const file = new SourceFile(`${ref} ONBUILD`, text + '\n');
    const parsed = parseDockerfile(file);
    diags.push(...parsed.diagnostics);
    for (const node of parsed.ast?.instructions ?? []) {
      const typed = parseInstruction(node, file, diags);
      if (typed) out.push(typed);
    }
  }
  return out;
}

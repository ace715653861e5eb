import { fromImage, loadImage, scratchImage, updateContainerConfig } from '../image/index.js';
import { DEFAULT_PATH } from '../instructions/index.js';
import type { PlanStage } from '../plan/index.js';
import { UserError, isUserError, type Platform } from '../util/index.js';
import type { BuildDeps, StageState } from './state.js';

/**
 * FROM: an image from the local store (by name or digest), `scratch`, or an earlier stage's
 * result. The key a stage's first filesystem step chains on is the base config digest, "scratch",
 * or the key of the earlier stage's last filesystem step.
 */
export async function fromStage(deps: BuildDeps, stage: PlanStage, stages: ReadonlyMap<number, StageState>): Promise<StageState> {
  const base = stage.base;
  if (base.kind === 'stage') {
    const parent = stages.get(base.stage);
    if (!parent) throw new Error(`stage ${base.stage} was not built before stage ${stage.index}`);
    // The child's OnBuild is its own: the parent's triggers already ran (the plan inlines them).
    return { key: parent.key, draft: updateContainerConfig(parent.draft, { OnBuild: undefined }), cmdSet: false, argKeys: [] };
  }
  // FROM --platform (often $BUILDPLATFORM, to build on the build host for --platform's target)
  // picks that platform's image from an index; without it the target platform's.
  const platform = stage.platform ? platformOf(stage.platform) : deps.platform;
  if (base.kind === 'scratch') return withDefaultPath({ key: 'scratch', draft: scratchImage(platform), cmdSet: false, argKeys: [] });
  return withDefaultPath(await imageState(deps, base.ref, platform));
}

/** `os/arch[/variant]` (the planner checked its form). */
function platformOf(text: string): Platform {
  const [os = 'linux', architecture = '', variant] = text.split('/');
  return variant ? { os, architecture, variant } : { os, architecture };
}

/** A stored image as a stage state (for FROM and COPY --from=<image>); its key is the config digest. */
export async function imageState(deps: BuildDeps, ref: string, platform: Platform = deps.platform): Promise<StageState> {
  let img;
  try {
    img = await (deps.loadImage ? deps.loadImage(ref, platform) : loadImage(deps.store, ref, platform));
  } catch (e) {
    if (isUserError(e) && e.code === 'image.not-found') {
      throw new UserError('build.image-not-found', `image ${ref} not found`, '`wharf pull` it, or `wharf import`/`wharf load` it into the store');
    }
    throw e;
  }
  for (const l of img.manifest.layers) await deps.protect(l.digest);
  const draft = updateContainerConfig(fromImage(img.config, img.manifest.layers), { OnBuild: undefined });
  return { key: img.manifest.config.digest, draft, cmdSet: false, argKeys: [] };
}

/** A base without Env gets the standard PATH, as docker's builder gives it. */
function withDefaultPath(s: StageState): StageState {
  const env = s.draft.config.config?.Env ?? [];
  if (env.some((e) => e.startsWith('PATH='))) return s;
  return { ...s, draft: updateContainerConfig(s.draft, { Env: [...env, `PATH=${DEFAULT_PATH}`] }) };
}

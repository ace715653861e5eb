import { fromImage, updateContainerConfig, type ContainerConfig, type ImageConfig, type ImageDraft } from '../image/index.js';
import { applyMeta } from '../ops/index.js';
import { planDockerfile, type MetaInstruction } from '../plan/index.js';
import { SourceFile } from '../diag/index.js';
import { parseDockerfile } from '../syntax/index.js';
import { UserError } from '../util/index.js';
import { findRecord, writeRecord } from './records.js';
import type { ContainerRecord } from './types.js';

/**
 * Edits of the image config a commit writes: buildah-style flags (`wharf config --env …`) and
 * docker's `commit -c 'INSTRUCTION'`, the latter read by the Dockerfile parser itself so `-c`
 * means exactly what the same line means in a Dockerfile.
 */
export interface ConfigEdits {
  readonly env?: readonly string[];
  /** JSON array or a shell-form string (run by /bin/sh -c). */
  readonly cmd?: string;
  readonly entrypoint?: string;
  readonly workdir?: string;
  readonly user?: string;
  readonly labels?: readonly string[];
  readonly expose?: readonly string[];
}

/** The flags as Dockerfile lines, so their values get Dockerfile meaning (quotes, JSON form, variables). */
export function editsAsInstructions(e: ConfigEdits): string[] {
  const out: string[] = [];
  for (const kv of e.env ?? []) out.push(`ENV ${pair(kv, '--env')}`);
  if (e.cmd !== undefined) out.push(`CMD ${e.cmd}`);
  if (e.entrypoint !== undefined) out.push(`ENTRYPOINT ${e.entrypoint}`);
  if (e.workdir !== undefined) out.push(`WORKDIR ${e.workdir}`);
  if (e.user !== undefined) out.push(`USER ${e.user}`);
  for (const kv of e.labels ?? []) out.push(`LABEL ${pair(kv, '--label')}`);
  for (const p of e.expose ?? []) out.push(`EXPOSE ${p}`);
  return out;
}

function pair(kv: string, flag: string): string {
  const i = kv.indexOf('=');
  if (i <= 0) throw new UserError('cli.bad-flag', `${flag} ${kv}: expected KEY=VALUE`, `e.g. ${flag} KEY=value`);
  return `${kv.slice(0, i)}=${JSON.stringify(kv.slice(i + 1))}`;
}

/** Instructions `commit -c` takes, as docker's `--change` does. */
const ALLOWED = new Set(['CMD', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'LABEL', 'ONBUILD', 'USER', 'VOLUME', 'WORKDIR', 'STOPSIGNAL', 'HEALTHCHECK', 'SHELL']);

/**
 * Applies Dockerfile instructions to a config. The history is left as it was: like docker's
 * commit, the one history entry is the commit's own.
 */
export function applyInstructions(config: ImageConfig, lines: readonly string[], flag: string): ImageConfig {
  // cmdSet is carried across the lines: ENTRYPOINT after a CMD of the same commit keeps that CMD.
  let state = { draft: fromImage(config, Array.from({ length: config.rootfs.diff_ids.length }, () => PLACEHOLDER)), cmdSet: false };
  for (const line of lines) state = applyOne(state, line, flag);
  return { ...state.draft.config, ...(config.history ? { history: config.history } : {}) };
}

const PLACEHOLDER = { mediaType: '', digest: 'sha256:' as never, size: 0 };

interface EditState {
  readonly draft: ImageDraft;
  readonly cmdSet: boolean;
}

function applyOne({ draft, cmdSet }: EditState, line: string, flag: string): EditState {
  const keyword = /^\s*(\S+)/.exec(line)?.[1]?.toUpperCase() ?? '';
  if (!ALLOWED.has(keyword)) {
    throw new UserError('container.bad-change', `${flag} ${JSON.stringify(line)}: ${keyword || 'an empty line'} cannot be applied to a config`, `use one of ${[...ALLOWED].join(', ')}`);
  }
  const env = new Map((draft.config.config?.Env ?? []).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)] as [string, string]));
  const file = new SourceFile(flag, `FROM scratch\n${line}\n`);
  const parsed = parseDockerfile(file);
  const planned = parsed.ast ? planDockerfile(parsed.ast, { imageEnv: () => env }, parsed.diagnostics) : { diagnostics: parsed.diagnostics };
  const err = planned.diagnostics.find((d) => d.severity === 'error');
  if (err || !('plan' in planned) || !planned.plan) {
    throw new UserError('container.bad-change', `${flag} ${JSON.stringify(line)}: ${err?.message ?? 'not a valid instruction'}`, 'write it as the line would be written in a Dockerfile');
  }
  const v = planned.plan.stages.at(-1)!.vertices.at(-1)!;
  if (v.kind === 'workdir') {
    const dir = v.instruction.value.value;
    const prev = draft.config.config?.WorkingDir || '/';
    return { draft: updateContainerConfig(draft, { WorkingDir: dir.startsWith('/') ? dir : `${prev.replace(/\/$/, '')}/${dir}` } satisfies Partial<ContainerConfig>), cmdSet };
  }
  if (v.kind !== 'meta') throw new UserError('container.bad-change', `${flag} ${JSON.stringify(line)}: not a config instruction`, `use one of ${[...ALLOWED].join(', ')}`);
  const next = applyMeta({ key: 'scratch' as never, draft, cmdSet, argKeys: [] }, v.instruction as MetaInstruction, line);
  return { draft: next.draft, cmdSet: next.cmdSet };
}

/** `wharf config`: the edits go into the container's record, for the next commit. */
export async function editContainerConfig(root: string, nameOrId: string, edits: ConfigEdits): Promise<ContainerRecord> {
  const rec = findRecord(root, nameOrId);
  const next = { ...rec, imageConfig: applyInstructions(rec.imageConfig, editsAsInstructions(edits), 'config') };
  await writeRecord(root, next);
  return next;
}

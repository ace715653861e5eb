import { explainMiss, type BaselineStep, type CacheRecord, type KeyMaterialField } from '../cache/index.js';
import type { LayerVertex, Vertex } from '../plan/index.js';
import type { MissKind, MissReason, StepRef } from '../progress/index.js';

/** One difference between a step's key now and the one it is compared with. */
export interface MissPart {
  readonly kind: MissKind;
  readonly text: string;
  /** What the part is about, in full (the text may shorten a list): a build arg's or env's name, the changed files' paths. */
  readonly subjects?: readonly string[];
}

/** What the solver knows of the build so far, to name the step a parent change came from. */
export interface MissContext {
  readonly vertex: LayerVertex;
  /** The vertex's stage, by id: its parent step is found through `fsParent`. */
  readonly vertices: ReadonlyMap<string, Vertex>;
  readonly refs: ReadonlyMap<string, StepRef>;
  /** Steps of this build that missed so far. */
  readonly missed: ReadonlySet<string>;
  readonly lineOf?: (v: Vertex) => number | undefined;
  /** The same step in the previous build of this target, when the comparison is with it. */
  readonly baseline?: BaselineStep;
  /** The op's own account of `exec` and `inputs` differences (files, env, build args…). */
  readonly explainOwn?: (fields: readonly KeyMaterialField[]) => MissPart[];
}

const short = (digest: string) => (digest.startsWith('sha256:') ? `sha256:${digest.slice(7, 19)}` : digest);

/** Joins the parts into a reason: the first part's kind, every part's text. */
export function missReason(parts: readonly MissPart[]): MissReason | undefined {
  if (!parts.length) return undefined;
  return { kind: parts[0]!.kind, text: parts.map((p) => p.text).join('; ') };
}

/** Every difference between `now` and `before`, worded for people, in key order. */
export function explainAgainst(ctx: MissContext, now: CacheRecord['material'], before: CacheRecord): MissPart[] {
  const parts: MissPart[] = [];
  const own: KeyMaterialField[] = [];
  const line = ctx.lineOf?.(ctx.vertex);
  for (const field of explainMiss(now, before.material)) {
    switch (field) {
      case 'v':
        parts.push({ kind: 'key-version', text: 'cache key version changed (records of an older wharf)' });
        break;
      case 'op': {
        const old = ctx.baseline?.instruction ?? 'an earlier form';
        parts.push({ kind: 'instruction', text: `instruction changed${line !== undefined ? ` (line ${line})` : ''}: ${old}  →  ${ctx.vertex.label}` });
        break;
      }
      case 'parent':
        parts.push(parentPart(ctx, before.material.parent, now.parent));
        break;
      case 'platform':
        parts.push({ kind: 'platform', text: `platform ${before.material.platform} → ${now.platform}` });
        break;
      case 'sourceDateEpoch':
        parts.push({ kind: 'source-date-epoch', text: `SOURCE_DATE_EPOCH ${before.material.sourceDateEpoch ?? '(unset)'} → ${now.sourceDateEpoch ?? '(unset)'}` });
        break;
      default:
        own.push(field);
    }
  }
  if (own.length) parts.push(...(ctx.explainOwn?.(own) ?? own.map((f) => ({ kind: 'exec' as const, text: `${f} changed` }))));
  return parts;
}

/** Names the step the parent key comes from: a base image that moved, or an earlier step that missed. */
function parentPart(ctx: MissContext, before: string, now: string): MissPart {
  const parentId = 'fsParent' in ctx.vertex ? ctx.vertex.fsParent : undefined;
  const parent = parentId ? ctx.vertices.get(parentId) : undefined;
  const ref = parentId ? ctx.refs.get(parentId) : undefined;
  if (!parent || !ref) return { kind: 'parent', text: 'parent changed' };
  const line = ctx.lineOf?.(parent);
  const at = line !== undefined ? ` (line ${line})` : '';
  if (parent.kind === 'from') return { kind: 'base-image', text: `base image changed: #${ref.number} ${ref.instruction}${at} ${short(before)} → ${short(now)}` };
  const how = ctx.missed.has(parent.id) ? 'missed' : 'used another cache record';
  return { kind: 'parent', text: `parent changed: #${ref.number} ${ref.instruction}${at} ${how}` };
}

import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { digestOfJSON, sha256Hex } from '../hash/index.js';
import { replaceFileSync } from '../util/index.js';

/**
 * A step as the last build of a target ran it: the baseline a later build of the same target
 * explains its misses against (not the last execution of the step, which may belong to an edit
 * since reverted). No values: only keys, the instruction as written and its line.
 */
export interface BaselineStep {
  readonly stage: number;
  readonly index: number;
  readonly instruction: string;
  readonly cacheKey: string;
  readonly line?: number;
}

/** What makes two builds "the same target": the Dockerfile, the context and the target stage. */
export interface BuildIdentity {
  readonly dockerfile: string;
  readonly context: string;
  readonly target: string;
}

export interface BuildHistory {
  /** The steps of the last finished build of this target, if any. */
  last(id: BuildIdentity): BaselineStep[] | undefined;
  save(id: BuildIdentity, steps: readonly BaselineStep[]): void;
}

/** One file per target under `<root>/cache/builds/`, replaced atomically after each finished build. */
export function openBuildHistory(root: string): BuildHistory {
  const dir = join(root, 'cache', 'builds');
  const fileOf = (id: BuildIdentity) => join(dir, sha256Hex(digestOfJSON(id)));
  return {
    last(id) {
      try {
        const steps = JSON.parse(readFileSync(fileOf(id), 'utf8')) as unknown;
        return Array.isArray(steps) ? (steps as BaselineStep[]) : undefined;
      } catch {
        // No earlier build of this target (or a torn file): misses are explained per instruction.
        return undefined;
      }
    },
    save(id, steps) {
      mkdirSync(dir, { recursive: true });
      const kept = steps.map((s) => ({ stage: s.stage, index: s.index, instruction: s.instruction, cacheKey: s.cacheKey, ...(s.line !== undefined ? { line: s.line } : {}) }));
      replaceFileSync(fileOf(id), JSON.stringify(kept));
    },
  };
}

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
  /**
   * Context paths whose change made a step of the last build miss, each with the number of
   * consecutive builds of this target (up to that one) it changed in: what tells a file that
   * changes on every build (generated, a timestamp) apart from one edited now and then.
   */
  changed(id: BuildIdentity): ReadonlyMap<string, number>;
  save(id: BuildIdentity, steps: readonly BaselineStep[], changed?: ReadonlyMap<string, number>): void;
}

/** The file: `{steps, changed}` (a bare array of steps is the earlier form, still read). */
interface HistoryFile {
  readonly steps: BaselineStep[];
  readonly changed?: Record<string, number>;
}

/** One file per target under `<root>/cache/builds/`, replaced atomically after each finished build. */
export function openBuildHistory(root: string): BuildHistory {
  const dir = join(root, 'cache', 'builds');
  const fileOf = (id: BuildIdentity) => join(dir, sha256Hex(digestOfJSON(id)));
  // The text last read or written per file: a build whose steps are the ones of the last build (a
  // no-op) leaves the file as it is, where replacing it made a new inode (0.1-0.7 ms here).
  const seen = new Map<string, string>();
  const read = (id: BuildIdentity): HistoryFile | undefined => {
    try {
      const path = fileOf(id);
      const text = readFileSync(path, 'utf8');
      seen.set(path, text);
      const data = JSON.parse(text) as unknown;
      if (Array.isArray(data)) return { steps: data as BaselineStep[] };
      const file = data as HistoryFile | null;
      return file && Array.isArray(file.steps) ? file : undefined;
    } catch {
      // No earlier build of this target (or a torn file): misses are explained per instruction.
      return undefined;
    }
  };
  return {
    last: (id) => read(id)?.steps,
    changed(id) {
      const c = read(id)?.changed;
      return new Map(c && typeof c === 'object' ? Object.entries(c).filter((e): e is [string, number] => typeof e[1] === 'number') : []);
    },
    save(id, steps, changed) {
      mkdirSync(dir, { recursive: true });
      const kept = steps.map((s) => ({ stage: s.stage, index: s.index, instruction: s.instruction, cacheKey: s.cacheKey, ...(s.line !== undefined ? { line: s.line } : {}) }));
      const file: HistoryFile = { steps: kept, ...(changed?.size ? { changed: Object.fromEntries(changed) } : {}) };
      const path = fileOf(id);
      const text = JSON.stringify(file);
      if (seen.get(path) === text) return;
      replaceFileSync(path, text);
      seen.set(path, text);
    },
  };
}

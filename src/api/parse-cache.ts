/**
 * Parse results kept in the store. A process parses its Dockerfile once, so every CLI build paid
 * for building the moo lexers (their rules are compiled and checked as regular expressions) and
 * for the nearley parse, ~4 ms of a build whose Dockerfile had not changed (bench/README.md,
 * "Speed, eighth round").
 *
 * One file per Dockerfile name, `<root>/cache/parsed/<sha256 of the name>.json`, holding the
 * parse of one text, named by the sha256 of the parser's identity (PARSER_ID: a hash of the
 * parser's sources, made by the build), the name and the text. A file that names another text, or
 * cannot be read, is a miss: the text is parsed and the file replaced (temp file and rename,
 * without fsync: a lost or torn file is a miss). Files stay one per name, so they do not pile up.
 *
 * Only a result JSON gives back exactly is kept: plain objects and dense arrays of strings, finite
 * numbers, booleans, null and undefined (as a marker, so a property set to undefined comes back
 * set), and the Dockerfile's SourceFile (as a marker, given back as the caller's). Each object is
 * reached once, except objects and arrays of primitives only: nodes share ranges and empty lists,
 * which come back as equal copies (no code compares them by identity). Anything else (an object
 * with the marker's own key among them) is parsed at every build.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { SourceFile } from '../diag/index.js';
import { sha256Hex, sha256Of } from '../hash/index.js';
import { PARSER_ID, parseDockerfile, type ParseResult } from '../syntax/index.js';
import { readRegularFileSync, replaceFileSync } from '../util/index.js';
import { MAX_DOCKERFILE_BYTES } from './build-input.js';

/** A kept parse is a few times its text; anything larger than this is not one. */
const MAX_CACHED_BYTES = 16 * MAX_DOCKERFILE_BYTES;

interface Kept {
  readonly id: string;
  readonly result: unknown;
}

/** `parseDockerfile(file)`, read from `dir` when that text was parsed there before. */
export function parseDockerfileKept(file: SourceFile, dir: string): ParseResult {
  const id = sha256Of(`${PARSER_ID}\0${file.name}\0${file.text}`);
  const path = join(dir, `${sha256Hex(sha256Of(file.name))}.json`);
  try {
    const kept = JSON.parse(readRegularFileSync(path, { maxBytes: MAX_CACHED_BYTES }).toString('utf8')) as Kept;
    if (kept && kept.id === id) {
      const result = revive(kept.result, file) as ParseResult;
      // The shape the build reads first; anything else is not a parse (a store someone wrote into).
      if (Array.isArray(result?.diagnostics) && Array.isArray(result.ast?.instructions)) return result;
    }
  } catch {
    // not parsed here before, or unreadable: parsed below
  }
  const result = parseDockerfile(file);
  // Only a parse worth keeping: a Dockerfile with errors is fixed before it is built again.
  if (!result.ast) return result;
  // Encoded now (the caller may change what it was given), written when the build next waits: a
  // new file and its dir are new inodes, 0.1-0.7 ms each on some file systems.
  const encoded = encodeExact({ id, result } satisfies Kept, file);
  if (encoded !== undefined) {
    setImmediate(() => {
      try {
        mkdirSync(dir, { recursive: true });
        replaceFileSync(path, encoded);
      } catch {
        // a store we cannot write to parses again next time
      }
    });
  }
  return result;
}

/** Stands for `undefined` and for the SourceFile: no parse result has a key of one NUL. */
const MARK = '\u0000';
const UNDEFINED = { [MARK]: 'u' };
const FILE = { [MARK]: 'f' };

/** JSON that revive() turns back into an equal value, or undefined when JSON cannot hold `value`. */
export function encodeExact(value: unknown, file: SourceFile): string | undefined {
  const seen = new Set<object>();
  let exact = true;
  const text = JSON.stringify(value, function (this: unknown, _key: string, v: unknown): unknown {
    if (v === undefined) return UNDEFINED;
    if (v === file) return FILE;
    if (v === UNDEFINED || v === FILE) return v;
    switch (typeof v) {
      case 'string':
      case 'boolean':
        return v;
      case 'number':
        if (!Number.isFinite(v) || Object.is(v, -0)) exact = false;
        return v;
      case 'object': {
        if (v === null) return v;
        const plain = Array.isArray(v) ? Object.keys(v).length === v.length : Object.getPrototypeOf(v) === Object.prototype;
        if (!plain || (seen.has(v) && !isLeaf(v)) || Object.hasOwn(v, MARK) || Object.getOwnPropertySymbols(v).length) exact = false;
        seen.add(v);
        return v;
      }
      default:
        exact = false;
        return undefined;
    }
  });
  return exact ? text : undefined;
}

/**
 * An object or array of primitives only, such as a Range or an empty list: nodes share these,
 * and nothing compares them by identity.
 */
function isLeaf(o: object): boolean {
  for (const k in o) {
    const v = (o as Record<string, unknown>)[k];
    if (typeof v === 'object' && v !== null) return false;
  }
  return true;
}

/** The value encodeExact wrote, with its markers replaced. */
export function revive(value: unknown, file: SourceFile): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const mark = marked(value);
  if (mark !== undefined) return mark === 'f' ? file : undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = revive(value[i], file);
  } else {
    const o = value as Record<string, unknown>;
    for (const k of Object.keys(o)) o[k] = revive(o[k], file);
  }
  return value;
}

function marked(o: object): string | undefined {
  const m = (o as Record<string, unknown>)[MARK];
  if (typeof m !== 'string') return undefined;
  const keys = Object.keys(o);
  return keys.length === 1 ? m : undefined;
}

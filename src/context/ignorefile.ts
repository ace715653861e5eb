import { basename, dirname, join, resolve } from 'node:path';
import { ok, err, readRegularFileSync, UserError, type Result } from '../util/index.js';
import { goClean } from './gopath.js';
import { PatternMatcher } from './patternmatcher.js';

/** One pattern read from an ignore file, with the 1-based line it came from. */
export interface IgnoreLine {
  readonly pattern: string;
  readonly line: number;
}

/**
 * Reads .dockerignore text as moby's ignorefile.ReadAll: a UTF-8 BOM is dropped, `#` starts a
 * comment only in column 0, lines are trimmed, blank ones skipped, paths cleaned, a leading `/`
 * dropped (patterns are relative to the context), and `! x` becomes `!x`.
 */
export function readIgnoreLines(text: string): IgnoreLine[] {
  const out: IgnoreLine[] = [];
  const lines = text.split('\n');
  // Like bufio.Scanner: a final newline does not start another (empty) line.
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  for (const [i, rawLine] of lines.entries()) {
    let line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    if (i === 0 && line.startsWith('\uFEFF')) line = line.slice(1);
    if (line.startsWith('#')) continue;
    let pattern = line.trim();
    if (pattern === '') continue;
    const invert = pattern.startsWith('!');
    if (invert) pattern = pattern.slice(1).trim();
    if (pattern.length > 0) {
      pattern = goClean(pattern);
      if (pattern.length > 1 && pattern.startsWith('/')) pattern = pattern.slice(1);
    }
    if (invert) pattern = '!' + pattern;
    out.push({ pattern, line: i + 1 });
  }
  return out;
}

export interface IgnoreFileError {
  readonly code: 'context.bad-pattern' | 'context.illegal-exclusion';
  /** The ignore file (as named to the reader) and the offending line. */
  readonly file: string;
  readonly line: number;
  readonly pattern: string;
  readonly message: string;
}

/** Parses ignore-file text into a matcher; a bad pattern is reported with its file and line. */
export function parseIgnoreFile(file: string, text: string): Result<PatternMatcher, IgnoreFileError> {
  const lines = readIgnoreLines(text);
  const pm = PatternMatcher.create(lines.map((l) => l.pattern));
  if (pm.ok) return pm;
  const at = lines[pm.error.index]!;
  return err({
    code: pm.error.code,
    file,
    line: at.line,
    pattern: at.pattern,
    message: `${file}:${at.line}: ${pm.error.code === 'context.illegal-exclusion' ? 'illegal exclusion pattern "!"' : `invalid pattern ${JSON.stringify(at.pattern)} (syntax error in pattern)`}`,
  });
}

/**
 * The ignore files that apply to a build, best first: BuildKit reads `<Dockerfile>.dockerignore`
 * beside the Dockerfile when it exists, and only otherwise `.dockerignore` at the context root.
 */
export function ignoreFileCandidates(contextDir: string, dockerfilePath: string): string[] {
  const df = resolve(contextDir, dockerfilePath);
  return [join(dirname(df), `${basename(df)}.dockerignore`), join(resolve(contextDir), '.dockerignore')];
}

export interface LoadedIgnore {
  /** The file read, or undefined when there is none (nothing is ignored). */
  readonly file: string | undefined;
  readonly matcher: PatternMatcher | undefined;
}

/** Far more patterns than any real ignore file; a larger one is refused, not read into memory. */
const MAX_IGNORE_BYTES = 16 * 1024 * 1024;

/** Picks and parses the ignore file for a Dockerfile (see ignoreFileCandidates); an unreadable one throws UserError. */
export async function loadIgnoreFile(contextDir: string, dockerfilePath: string): Promise<Result<LoadedIgnore, IgnoreFileError>> {
  for (const file of ignoreFileCandidates(contextDir, dockerfilePath)) {
    let text: string;
    try {
      // The context chose what is there: a FIFO must not hang the build, a device not be read
      // without end (a symlink is followed, as before, to whatever it names on this machine).
      text = readRegularFileSync(file, { maxBytes: MAX_IGNORE_BYTES, what: `ignore file ${file}`, followSymlink: true }).toString('utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      if (e instanceof UserError) throw e;
      throw new UserError('context.unreadable', `cannot read ignore file ${JSON.stringify(file)}: ${(e as Error).message}`);
    }
    const pm = parseIgnoreFile(file, text);
    return pm.ok ? ok({ file, matcher: pm.value }) : pm;
  }
  return ok({ file: undefined, matcher: undefined });
}

// Kept parses (src/api/parse-cache.ts) for the tests that read or tamper with the kept file.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { SourceFile } from '../../src/diag/index.js';
import { parseDockerfileKept } from '../../src/api/parse-cache.js';

/** The kept file is written when the caller next waits. */
export const written = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Parses `text` as `Dockerfile` into a new `dir` and returns the path of the one file kept there. */
export async function keptFileOf(dir: string, text: string): Promise<string> {
  parseDockerfileKept(new SourceFile('Dockerfile', text), dir);
  await written();
  const names = readdirSync(dir);
  if (names.length !== 1) throw new Error(`${dir}: ${names.length} kept files, not one`);
  return join(dir, names[0]!);
}

// The context of the start-up benchmarks: one small COPY from scratch, so a rebuild runs nothing.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Writes the context under `tmp` and returns `wharf` arguments that build it into `tmp/root`. */
export function noopBuildArgs(tmp: string): string[] {
  const ctx = join(tmp, 'ctx');
  mkdirSync(ctx);
  writeFileSync(join(ctx, 'Dockerfile'), 'FROM scratch\nCOPY a.txt /a.txt\n');
  writeFileSync(join(ctx, 'a.txt'), 'a\n');
  return ['--root', join(tmp, 'root'), 'build', '--progress', 'quiet', '-t', 'startup:1', ctx];
}

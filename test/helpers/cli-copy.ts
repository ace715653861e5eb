// A copy of the bundled CLI (bin/ and the bundles) in a dir of the test's, so what a run writes
// beside it (its V8 code caches) leaves the checkout's own alone.
import { copyFileSync, mkdirSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from './paths.js';

/** The copy's bin/wharf.js; without `native`, the copy has no dist/native (the addon not built). */
export function bundledCliCopy(dir: string, opts: { readonly native?: boolean } = {}): string {
  for (const d of ['bin', 'dist/src/cli']) mkdirSync(join(dir, d), { recursive: true });
  for (const f of ['bin/wharf.js', 'bin/package.json', 'dist/wharf.cjs', 'dist/undici.cjs']) copyFileSync(join(projectRoot, f), join(dir, f));
  if (opts.native !== false) symlinkSync(join(projectRoot, 'dist', 'native'), join(dir, 'dist', 'native'));
  // Older than the bundle: bin/wharf.js takes the bundle.
  writeFileSync(join(dir, 'dist', 'src', 'cli', 'main.js'), '');
  utimesSync(join(dir, 'dist', 'src', 'cli', 'main.js'), new Date(0), new Date(0));
  return join(dir, 'bin', 'wharf.js');
}

// Compiles grammar/*.ne into src/syntax/generated/ with nearleyc. The output is generated, never
// edited by hand, and is type-checked by tsc like every other module.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const nearleyc = join(dirname(require.resolve('nearley/package.json')), 'bin', 'nearleyc.js');
const outDir = join(root, 'src', 'syntax', 'generated');
mkdirSync(outDir, { recursive: true });

// Only top-level grammars are compiled; files starting with "_" are @include'd pieces.
const grammars = existsSync(join(root, 'grammar'))
  ? readdirSync(join(root, 'grammar')).filter((f) => f.endsWith('.ne') && !f.startsWith('_'))
  : [];
for (const file of grammars) {
  const out = join(outDir, file.replace(/\.ne$/, '.ts'));
  execFileSync(process.execPath, [nearleyc, join(root, 'grammar', file), '-o', out], { stdio: 'inherit' });
}

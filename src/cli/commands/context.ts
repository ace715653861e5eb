import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { RegisterCommand } from '../context.js';

/**
 * `wharf context [dir]`: what a build would see of a context directory after its ignore file —
 * the answer to "why is my file (not) in the image?" — and, with --digest, the tree digest and how
 * many files the stat cache spared.
 */
export const register: RegisterCommand = (program, ctx) => {
  program
    .command('context')
    .description('list the files a build sees in a context directory (after .dockerignore)')
    .argument('[dir]', 'context directory', '.')
    .option('-f, --file <path>', 'Dockerfile, relative to the current directory (default: <dir>/Dockerfile); picks <Dockerfile>.dockerignore when present')
    .option('--digest', 'print the tree digest of the whole context and fingerprint counters')
    .action(async (dir: string, opts: { file?: string; digest?: boolean }, cmd: Command) => {
      const { UserError } = await import('../../util/index.js');
      const { loadXxh64 } = await import('../../hash/index.js');
      const { openContext } = await import('../../context/index.js');
      const contextDir = resolve(ctx.cwd, dir);
      const opened = await openContext({ contextDir, dockerfile: opts.file ? resolve(ctx.cwd, opts.file) : resolve(contextDir, 'Dockerfile'), storeRoot: ctx.root(cmd), hasher: await loadXxh64() });
      if (!opened.ok) throw new UserError(opened.error.code, opened.error.message, 'patterns follow Go filepath.Match syntax plus ** (escape [ ] * ? with \\)');
      const c = opened.value;
      const lines = c.entries.map((e) => `${e.type.padEnd(7)} ${e.path}${e.type === 'symlink' ? ` -> ${e.linkTarget}` : ''}`);
      ctx.stdout.write(lines.join('\n') + (lines.length ? '\n' : ''));
      ctx.stderr.write(`${c.entries.length} entries; ignore file: ${c.ignoreFile ?? 'none'}\n`);
      if (opts.digest) {
        const digest = await c.treeDigest(c.entries);
        await c.close();
        const n = c.counters;
        ctx.stdout.write(`${digest}\n`);
        ctx.stderr.write(`read ${n.filesRead} files (${n.bytesHashed} bytes), ${n.filesFromCache} from the stat cache\n`);
      }
    });
};

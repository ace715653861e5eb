import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { SourceFile, formatDiagnostic, hasErrors } from '../../diag/index.js';
import { astToJson, dumpBuildkit, parseDockerfile, unknownInstructionDiagnostics } from '../../syntax/index.js';
import type { CliContext } from '../context.js';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function runParse(ctx: CliContext, opts: { file: string; format: string }): Promise<number> {
  if (opts.format !== 'json' && opts.format !== 'buildkit') {
    ctx.stderr.write(`error: unknown format "${opts.format}" (use json or buildkit)\n`);
    return 2;
  }
  let text: string;
  try {
    text = opts.file === '-' ? await readStdin() : await readFile(resolve(ctx.cwd, opts.file), 'utf8');
  } catch (e) {
    ctx.stderr.write(`error: cannot read ${opts.file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}\n`);
    return 1;
  }
  const file = new SourceFile(opts.file === '-' ? 'Dockerfile' : opts.file, text);
  const { ast, diagnostics } = parseDockerfile(file);
  const all = ast ? [...diagnostics, ...unknownInstructionDiagnostics(ast)] : diagnostics;
  for (const d of all) ctx.stderr.write(formatDiagnostic(d) + '\n');
  if (!ast || hasErrors(all)) return 1;
  ctx.stdout.write(opts.format === 'buildkit' ? dumpBuildkit(ast) : JSON.stringify(astToJson(ast), null, 2) + '\n');
  return 0;
}

import type { Command } from '../instructions/index.js';

/**
 * Config values as docker stores them, shared by the config a step sets (meta.ts, run.ts) and the
 * history text docker writes for it (history.ts).
 */

const DEFAULT_SHELL = ['/bin/sh', '-c'];

/** CMD/ENTRYPOINT/RUN argv: exec form as written, shell form through the SHELL in effect. */
export function commandArgs(cmd: Command, shell: readonly string[] | undefined): string[] {
  return cmd.form === 'exec' ? cmd.args.map((w) => w.value) : [...(shell ?? DEFAULT_SHELL), cmd.text.value];
}

/** EXPOSE items as docker stores them: ranges expanded, protocol lower-cased, tcp by default. */
export function exposedPorts(items: readonly string[]): string[] {
  const out: string[] = [];
  for (const item of items) {
    const [ports = '', proto = 'tcp'] = item.split('/');
    const [lo, hi] = ports.split('-').map(Number);
    if (lo === undefined || !Number.isInteger(lo)) continue;
    for (let p = lo; p <= (hi !== undefined && Number.isInteger(hi) ? hi : lo); p++) out.push(`${p}/${proto.toLowerCase()}`);
  }
  return out;
}

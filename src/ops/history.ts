import type { TypedInstruction } from '../instructions/index.js';
import { goQuote } from '../util/index.js';
import { exposedPorts } from './config-values.js';

/**
 * `created_by` texts as docker's BuildKit frontend writes them (it formats Go values with %v and
 * %q), so `wharf history` and `docker history` read alike. Checked by the peer tests.
 */

const goList = (xs: readonly string[]) => `[${xs.join(' ')}]`;
const goQuotedList = (xs: readonly string[]) => `[${xs.map(goQuote).join(' ')}]`;

/** Go's time.Duration String for a count of nanoseconds (the values HEALTHCHECK stores). */
export function goDuration(ns: number): string {
  if (ns === 0) return '0s';
  const neg = ns < 0;
  let n = Math.abs(ns);
  let out: string;
  if (n < 1e3) out = `${n}ns`;
  else if (n < 1e6) out = `${trim(n / 1e3)}µs`;
  else if (n < 1e9) out = `${trim(n / 1e6)}ms`;
  else {
    const h = Math.floor(n / 3.6e12);
    n -= h * 3.6e12;
    const m = Math.floor(n / 6e10);
    n -= m * 6e10;
    out = `${h ? `${h}h` : ''}${h || m ? `${m}m` : ''}${trim(n / 1e9)}s`;
  }
  return (neg ? '-' : '') + out;
}
const trim = (x: number) => String(Number(x.toFixed(9)));

/** Go's %q of an int: a quoted rune. */
function goRune(n: number): string {
  if (n >= 0x20 && n < 0x7f) return n === 0x27 ? `'\\''` : n === 0x5c ? `'\\\\'` : `'${String.fromCharCode(n)}'`;
  return n < 0x80 ? `'\\x${n.toString(16).padStart(2, '0')}'` : `'\\u${n.toString(16).padStart(4, '0')}'`;
}

/** A metadata instruction's text; `args` is the CMD/ENTRYPOINT argv after SHELL was applied. */
export function metaCreatedBy(ins: TypedInstruction, label: string, args?: readonly string[]): string {
  switch (ins.kind) {
    case 'CMD':
    case 'ENTRYPOINT':
      return `${ins.kind} ${goQuotedList(args ?? [])}`;
    case 'SHELL':
      return `SHELL ${goList(ins.shell)}`;
    case 'VOLUME':
      return `VOLUME ${goList(ins.items.map((w) => w.value))}`;
    case 'EXPOSE':
      return `EXPOSE map[${[...new Set(exposedPorts(ins.items.map((w) => w.value)))].sort().map((p) => `${p}:{}`).join(' ')}]`;
    case 'HEALTHCHECK': {
      const o = ins.options;
      const test = !ins.command ? ['NONE'] : ins.command.form === 'exec' ? ['CMD', ...ins.command.args.map((w) => w.value)] : ['CMD-SHELL', ins.command.text.value];
      const ds = [o.interval, o.timeout, o.startPeriod].map((d) => goQuote(goDuration(d)));
      return `HEALTHCHECK &{${goQuotedList(test)} ${ds.join(' ')} ${goRune(o.retries)}}`;
    }
    default:
      return label;
  }
}

/** `RUN |2 A=1 B= /bin/sh -c make # buildkit`: the stage's ARGs (value in effect, or empty) first. */
export function runCreatedBy(args: readonly string[], argKeys: readonly string[], env: ReadonlyMap<string, string>): string {
  const build = argKeys.map((k) => `${k}=${env.get(k) ?? ''}`);
  return `RUN ${[...(build.length ? [`|${build.length}`, ...build] : []), ...args].join(' ')} # buildkit`;
}

/** `COPY a b /dest/ # buildkit`: sources and dest as expanded, flags left out. */
export function copyCreatedBy(kind: 'COPY' | 'ADD', sources: readonly string[], dest: string): string {
  return `${kind} ${[...sources, dest].join(' ')} # buildkit`;
}

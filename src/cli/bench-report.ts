// `wharf bench`'s output: the library's BenchReport (api/bench-report.ts) as tables for a terminal.
import type { BenchReport, StepMetadata, StepName } from '../api/index.js';
import { adviceLines } from '../progress/index.js';

/** The tables and summary for a terminal. */
export function renderBenchText(r: BenchReport): string {
  const out: string[] = [];
  out.push(`wharf bench: ${r.mode} mode, ${r.runs.length} run${r.runs.length === 1 ? '' : 's'} of ${r.context} (after 1 warm-up build)`);
  out.push('');
  out.push(
    table(
      ['run', 'wall', 'cached/executed', 'bytes hashed', 'files read/from stat cache'],
      r.runs.map((x) => [String(x.run), seconds(x.wallMs), `${x.cached}/${x.executed}`, bytes(x.context.bytesHashed), `${x.context.filesHashed}/${x.context.filesFromStatCache}`]),
    ),
  );
  const w = r.summary.wallMs;
  out.push('');
  out.push(`wall: median ${seconds(w.median)}, min ${seconds(w.min)}, max ${seconds(w.max)}`);
  out.push('');
  out.push('time per step (median over runs):');
  out.push(table(['step', 'time', 'hits', 'instruction'], r.summary.steps.map((s) => [`#${s.number}`, `${Math.round(s.medianMs)} ms`, `${s.hits}/${r.runs.length}`, describe(s)])));
  if (r.summary.neverHit) {
    out.push('');
    if (r.summary.neverHit.length === 0) out.push('every step hit the cache at least once');
    else {
      out.push('never hit the cache (these run on every build):');
      for (const s of r.summary.neverHit) out.push(`  #${s.number} ${describe(s)}`);
    }
  }
  if (r.mode === 'change') {
    out.push('');
    const f = r.summary.firstMiss;
    out.push(f ? `first miss: #${f.number} ${describe(f)}, in ${f.runs}/${r.runs.length} runs; it and the steps after it in its stage run again` : 'no step missed: the changed files do not reach any step (ignored, or not copied)');
    const why = r.runs.find((x) => x.firstMiss?.number === f?.number)?.firstMiss?.miss;
    if (why) out.push(`  why: ${why.text}`);
  }
  if (r.advice.length) {
    out.push('');
    out.push(...adviceLines(r.advice));
  }
  return out.join('\n') + '\n';
}

/** One line per counted run on stderr while the benchmark goes, so a long one shows life. */
export function renderRunLine(label: string, wallMs: number, steps: readonly StepMetadata[]): string {
  return `${label}: ${seconds(wallMs)}, ${steps.filter((s) => s.cached).length}/${steps.length} cached\n`;
}

const describe = (s: StepName) => `${s.instruction}${s.line !== undefined ? ` (line ${s.line})` : ''}`;
const seconds = (ms: number) => `${(ms / 1000).toFixed(2)}s`;

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** Left-aligned columns, two spaces apart. */
function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return [line(head), ...rows.map(line)].join('\n');
}

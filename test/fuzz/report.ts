/**
 * What a fuzz campaign found, per part: exit codes, how many inputs were accepted or refused
 * cleanly, and every stack trace (grouped by its first lines), hang and slow run with the case
 * that caused it, so that `--case N` can make it again.
 */
export type Verdict = 'accepted' | 'refused' | 'unclear' | 'trace' | 'hang';

export interface CaseResult {
  readonly index: number;
  readonly how: string;
  readonly verdict: Verdict;
  /** The exit code (`timeout`, `signal SIGxxx`; in-process: 0, 1 or `threw`). */
  readonly code: string;
  readonly ms: number;
  /** stderr or the thrown error's stack, for traces and unclear refusals. */
  readonly detail?: string;
}

export interface PartReport {
  readonly name: string;
  tried: number;
  accepted: number;
  refused: number;
  unclear: { index: number; how: string; detail: string }[];
  codes: Map<string, number>;
  traces: Map<string, { count: number; first: string; cases: number[]; how: string }>;
  hangs: { index: number; how: string }[];
  slow: { index: number; how: string; ms: number }[];
}

export const SLOW_MS = 2000;

export function newPart(name: string): PartReport {
  return { name, tried: 0, accepted: 0, refused: 0, unclear: [], codes: new Map(), traces: new Map(), hangs: [], slow: [] };
}

/** The lines of a stack trace that name it: the error and its first frames, paths and numbers blurred so one bug is one entry. */
export function traceSignature(detail: string): { key: string; first: string } {
  const lines = detail.split('\n');
  const start = Math.max(0, lines.findIndex((l) => /^\s*(\w*Error|Error)\b|internal error/.test(l)));
  const first = lines.slice(start, start + 6).join('\n');
  const errLine = lines.slice(start).find((l) => /^\s*\w*Error\b/.test(l)) ?? lines[start] ?? '';
  const frame = lines.slice(start).find((l) => /^\s+at /.test(l)) ?? '';
  const blur = (s: string) => s.replace(/\/[^\s:'"()]+/g, 'PATH').replace(/\d+/g, 'N').trim();
  return { key: `${blur(errLine).slice(0, 160)} | ${blur(frame.replace(/\(.*\)$/, ''))}`, first };
}

export function record(part: PartReport, r: CaseResult): void {
  part.tried++;
  part.codes.set(r.code, (part.codes.get(r.code) ?? 0) + 1);
  if (r.ms > SLOW_MS && r.verdict !== 'hang') part.slow.push({ index: r.index, how: r.how, ms: Math.round(r.ms) });
  switch (r.verdict) {
    case 'accepted':
      part.accepted++;
      break;
    case 'refused':
      part.refused++;
      break;
    case 'unclear':
      part.unclear.push({ index: r.index, how: r.how, detail: (r.detail ?? '').slice(0, 400) });
      break;
    case 'hang':
      part.hangs.push({ index: r.index, how: r.how });
      break;
    case 'trace': {
      const sig = traceSignature(r.detail ?? '');
      const t = part.traces.get(sig.key) ?? { count: 0, first: sig.first, cases: [], how: r.how };
      t.count++;
      if (t.cases.length < 10) t.cases.push(r.index);
      part.traces.set(sig.key, t);
      break;
    }
  }
}

export const traceCount = (p: PartReport) => [...p.traces.values()].reduce((n, t) => n + t.count, 0);

export function formatPart(p: PartReport): string {
  const out: string[] = [];
  const codes = [...p.codes].sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c}: ${n}`).join(', ');
  out.push(`== ${p.name}`);
  out.push(`  cases tried: ${p.tried}`);
  out.push(`  exit codes: ${codes || '-'}`);
  out.push(`  accepted: ${p.accepted}   refused cleanly: ${p.refused}   refused without an error line: ${p.unclear.length}`);
  out.push(`  stack traces: ${traceCount(p)} (${p.traces.size} distinct)   hangs: ${p.hangs.length}   slow (> ${SLOW_MS / 1000} s): ${p.slow.length}`);
  for (const [, t] of p.traces) {
    out.push(`  - stack trace x${t.count}, cases ${t.cases.join(', ')} (e.g. ${t.how.slice(0, 120)}):`);
    for (const l of t.first.split('\n')) out.push(`      ${l.slice(0, 200)}`);
  }
  for (const h of p.hangs.slice(0, 20)) out.push(`  - hang: case ${h.index} (${h.how.slice(0, 120)})`);
  for (const s of p.slow.slice(0, 20)) out.push(`  - slow: case ${s.index} ${s.ms} ms (${s.how.slice(0, 120)})`);
  for (const u of p.unclear.slice(0, 5)) out.push(`  - no error line: case ${u.index} (${u.how.slice(0, 120)}): ${u.detail.split('\n')[0]}`);
  return out.join('\n');
}

/**
 * Parse + plan throughput on generated Dockerfiles of 1k, 10k and 100k lines. Prints MB/s and
 * time per line for each size; time per line should stay flat (the pipeline must be linear).
 *
 *   npx tsc -p . && node dist/bench/parse.js
 */
import { performance } from 'node:perf_hooks';
import { SourceFile } from '../src/diag/index.js';
import { parseDockerfile } from '../src/syntax/index.js';
import { resolveStages } from '../src/instructions/index.js';
import { buildPlan } from '../src/plan/index.js';

/** A realistic mix: stages of ~50 lines with ARG/ENV expansion, continuations, mounts, COPY --from. */
export function generateDockerfile(lines: number): string {
  const out: string[] = ['# syntax=docker/dockerfile:1', 'ARG BASE=alpine:3.19'];
  let stage = 0;
  while (out.length < lines) {
    out.push(`FROM \${BASE} AS s${stage}`, `ARG V${stage}=1.${stage}`, `ENV APP_HOME=/app/${stage} PATH=/app/bin:$PATH`, 'WORKDIR $APP_HOME');
    for (let i = 0; i < 10 && out.length < lines; i++) {
      out.push(`RUN --mount=type=cache,target=/root/.cache/${i} set -e; \\`, `    echo "step ${i} of \${V${stage}}" > /tmp/${i} && \\`, `    cat /tmp/${i}`);
      out.push(`COPY --chown=1000:1000 src/${i}/ ./src/${i}/`, `LABEL step${i}="value ${i}"`);
    }
    if (stage > 0) out.push(`COPY --from=s${stage - 1} /app /prev`);
    out.push('CMD ["/app/bin/run"]');
    stage++;
  }
  return out.slice(0, lines).join('\n') + '\n';
}

/** Best of three: the machine is shared, and the minimum is the least disturbed run. */
function measure(lines: number): { mb: number; parseMs: number; planMs: number } {
  const runs = [measureOnce(lines), measureOnce(lines), measureOnce(lines)];
  return runs.reduce((a, b) => (a.parseMs + a.planMs <= b.parseMs + b.planMs ? a : b));
}

function measureOnce(lines: number): { mb: number; parseMs: number; planMs: number } {
  const text = generateDockerfile(lines);
  const file = new SourceFile('Dockerfile', text);
  const t0 = performance.now();
  const parsed = parseDockerfile(file);
  const t1 = performance.now();
  if (!parsed.ast) throw new Error(`generated Dockerfile does not parse: ${parsed.diagnostics.map((d) => d.message).join('; ')}`);
  const { resolved, diagnostics } = resolveStages(parsed.ast);
  const plan = buildPlan(resolved);
  const t2 = performance.now();
  const errors = [...diagnostics, ...plan.diagnostics].filter((d) => d.severity === 'error');
  if (errors.length) throw new Error(`generated Dockerfile has errors: ${errors[0]!.message}`);
  return { mb: Buffer.byteLength(text) / 1e6, parseMs: t1 - t0, planMs: t2 - t1 };
}

measureOnce(2000); // warm up the JIT
const rows: string[] = [];
let firstPerLine = 0;
for (const lines of [1_000, 10_000, 100_000]) {
  const r = measure(lines);
  const total = r.parseMs + r.planMs;
  const perLineUs = (total * 1000) / lines;
  if (!firstPerLine) firstPerLine = perLineUs;
  rows.push(
    `${String(lines).padStart(7)} lines  ${r.mb.toFixed(2).padStart(6)} MB  parse ${r.parseMs.toFixed(1).padStart(8)} ms  plan ${r.planMs.toFixed(1).padStart(7)} ms  ` +
      `${(r.mb / (total / 1000)).toFixed(1).padStart(6)} MB/s  ${perLineUs.toFixed(2)} µs/line (x${(perLineUs / firstPerLine).toFixed(2)} of 1k)`,
  );
}
process.stdout.write(rows.join('\n') + '\n');

import type { BuildEvent, StepRef } from './events.js';
import { cacheLine, resultLines, summaryLine } from './summary.js';
import { humanBytes, layerId, progressBar } from './pull.js';

interface TtyStream {
  write(s: string): unknown;
  readonly columns?: number;
}

/** Lines of output shown under a running step. */
const TAIL = 4;
const TICK_MS = 100;

interface Running {
  readonly step: StepRef;
  readonly startedAt: number;
  readonly tail: string[];
}

const header = (s: StepRef) => `[${s.stageLabel} ${s.position}/${s.total}] ${s.instruction}`;

/**
 * A live view like BuildKit's: finished steps scroll up as one line each (`CACHED` or their time),
 * running steps stay at the bottom with a timer and their last lines of output, redrawn in place.
 */
export function ttyRenderer(out: TtyStream, now: () => number = () => performance.now()): { sink: (e: BuildEvent) => void; close: () => void } {
  const running = new Map<string, Running>();
  /** Layers downloading for a base image: `image layer` → its live line. */
  const pulling = new Map<string, string>();
  let drawn = 0;
  const width = () => Math.max(20, (out.columns || 80) - 1);
  const fit = (s: string) => (s.length > width() ? s.slice(0, width() - 1) + '…' : s);

  const clear = () => {
    if (drawn > 0) out.write(`\x1b[${drawn}A\x1b[0J`);
    drawn = 0;
  };
  const draw = () => {
    const lines: string[] = [];
    for (const r of running.values()) {
      lines.push(fit(`=> ${header(r.step)}  ${((now() - r.startedAt) / 1000).toFixed(1)}s`));
      for (const l of r.tail) lines.push(fit(`   │ ${l}`));
    }
    for (const l of pulling.values()) lines.push(fit(l));
    clear();
    if (lines.length) out.write(lines.join('\n') + '\n');
    drawn = lines.length;
  };
  const timer = setInterval(() => running.size && draw(), TICK_MS);
  timer.unref?.();
  const finish = (line: string) => {
    clear();
    out.write(fit(line) + '\n');
    draw();
  };

  const sink = (e: BuildEvent) => {
    switch (e.type) {
      case 'step-started':
        running.set(e.step.id, { step: e.step, startedAt: now(), tail: [] });
        if (e.reason) finish(`   ${header(e.step)}: cache miss: ${e.reason}`);
        else draw();
        break;
      case 'step-log': {
        const r = running.get(e.step.id);
        if (!r) break;
        r.tail.push(e.line);
        if (r.tail.length > TAIL) r.tail.shift();
        break;
      }
      case 'step-cached':
        finish(`=> CACHED ${header(e.step)}`);
        break;
      case 'step-done':
        running.delete(e.step.id);
        finish(`=> ${header(e.step)}  ${(e.durationMs / 1000).toFixed(1)}s`);
        break;
      case 'step-error': {
        const r = running.get(e.step.id);
        running.delete(e.step.id);
        finish(`=> ERROR ${header(e.step)}  ${(e.durationMs / 1000).toFixed(1)}s`);
        for (const l of r?.tail ?? []) out.write(fit(`   │ ${l}`) + '\n');
        break;
      }
      case 'pull': {
        const key = `${e.image} ${layerId(e.digest)}`;
        if (e.state === 'resolved') finish(`=> pull ${e.image} ${layerId(e.digest)}…`);
        else if (e.state === 'downloading') {
          pulling.set(key, `=> pull ${key} ${progressBar(e.bytes, e.total, 20)} ${humanBytes(e.bytes)}/${humanBytes(e.total)}`);
          draw();
        } else if (e.state === 'verified') {
          pulling.delete(key);
          finish(`=> pull ${key} done ${humanBytes(e.total)}`);
        }
        break;
      }
      case 'build-done':
        pulling.clear();
        clear();
        // Whole, never cut: the ID is there to be copied (it is not redrawn, so wrapping is harmless).
        for (const l of resultLines(e)) out.write(`=> ${l}\n`);
        out.write(summaryLine(e) + '\n');
        break;
      default: {
        const line = cacheLine(e);
        if (line) finish(line);
      }
    }
  };
  return {
    sink,
    close: () => {
      clearInterval(timer);
      running.clear();
      pulling.clear();
      clear();
    },
  };
}

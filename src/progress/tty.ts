import type { BuildEvent, StepRef } from './events.js';
import { adviceLines, cacheLine, pushLine, resultLines, summaryLine } from './summary.js';
import { humanBytes, layerId, progressBar } from './pull.js';
import { nowMs } from '../util/index.js';

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

const stepTag = (s: StepRef) => `[${s.stageLabel} ${s.position}/${s.total}] `;
const time = (ms: number) => `  ${(ms / 1000).toFixed(1)}s`;

export interface TtyOptions {
  /** ANSI colours as BuildKit uses them (the CLI turns them off for NO_COLOR). */
  readonly color?: boolean;
  readonly now?: () => number;
}

/** SGR codes: BuildKit's palette (progressui): done blue, errors red, warnings yellow; cached steps dimmed. */
const PAINT = { done: '34', error: '31', warning: '33', cached: '2' } as const;
type Paint = keyof typeof PAINT;

/**
 * One line cut to `width` columns, giving up the middle first: `head` and `tail` (the step's tag
 * and its timer, or a miss reason) stay whole and the instruction text between them is cut with
 * `…`. Only when head and tail alone are too wide is the end cut too.
 */
export function fitLine(head: string, middle: string, tail: string, width: number): string {
  const flat = middle.split('\n')[0]! + (middle.includes('\n') ? '…' : '');
  const room = width - head.length - tail.length;
  if (flat.length <= room) return head + flat + tail;
  if (room >= 2) return head + flat.slice(0, room - 1) + '…' + tail;
  const all = head + tail;
  return all.length <= width ? all : all.slice(0, width - 1) + '…';
}

/**
 * A live view like BuildKit's: finished steps scroll up as one line each (`CACHED` or their time),
 * running steps stay at the bottom with a timer and their last lines of output, redrawn in place.
 */
export function ttyRenderer(out: TtyStream, opts: TtyOptions = {}): { sink: (e: BuildEvent) => void; close: () => void } {
  const now = opts.now ?? (() => nowMs());
  const running = new Map<string, Running>();
  /** Layers downloading for a base image: `image layer` → its live line. */
  const pulling = new Map<string, string>();
  let drawn = 0;
  const width = () => Math.max(20, (out.columns || 80) - 1);
  const fit = (s: string) => (s.length > width() ? s.slice(0, width() - 1) + '…' : s);
  // Painted after fitting: escape codes take no columns.
  const paint = (kind: Paint, s: string) => (opts.color ? `\x1b[${PAINT[kind]}m${s}\x1b[0m` : s);
  const stepLine = (lead: string, step: StepRef, tail: string) => fitLine(lead + stepTag(step), step.instruction, tail, width());
  /** A miss reason keeps as much of itself as it can; the instruction gives way first (to 20 columns). */
  const missLine = (step: StepRef, reason: string) => {
    const tail = `: cache miss: ${reason}`;
    const head = `   ${stepTag(step)}`;
    const keep = Math.min(step.instruction.length, Math.max(20, width() - head.length - tail.length));
    return fit(fitLine(head, step.instruction, '', head.length + keep) + tail);
  };

  const clear = () => {
    if (drawn > 0) out.write(`\x1b[${drawn}A\x1b[0J`);
    drawn = 0;
  };
  const draw = () => {
    const lines: string[] = [];
    for (const r of running.values()) {
      lines.push(stepLine('=> ', r.step, time(now() - r.startedAt)));
      for (const l of r.tail) lines.push(fit(`   │ ${l}`));
    }
    for (const l of pulling.values()) lines.push(fit(l));
    clear();
    if (lines.length) out.write(lines.join('\n') + '\n');
    drawn = lines.length;
  };
  const timer = setInterval(() => running.size && draw(), TICK_MS);
  timer.unref?.();
  const finish = (line: string, kind?: Paint) => {
    clear();
    out.write((kind ? paint(kind, fit(line)) : fit(line)) + '\n');
    draw();
  };

  const sink = (e: BuildEvent) => {
    switch (e.type) {
      case 'step-started':
        running.set(e.step.id, { step: e.step, startedAt: now(), tail: [] });
        if (e.reason) finish(missLine(e.step, e.reason));
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
        finish(stepLine('=> CACHED ', e.step, ''), 'cached');
        break;
      case 'step-done':
        running.delete(e.step.id);
        finish(stepLine('=> ', e.step, time(e.durationMs)), 'done');
        break;
      case 'step-error': {
        const r = running.get(e.step.id);
        running.delete(e.step.id);
        finish(stepLine('=> ERROR ', e.step, time(e.durationMs)), 'error');
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
      case 'advice':
        // Whole lines, never cut: each names the Dockerfile lines to change.
        clear();
        for (const l of adviceLines(e.advice)) out.write(`${l}\n`);
        draw();
        break;
      case 'build-done':
        pulling.clear();
        clear();
        // Whole, never cut: the ID is there to be copied (it is not redrawn, so wrapping is harmless).
        for (const l of resultLines(e)) out.write(`=> ${l}\n`);
        out.write(summaryLine(e) + '\n');
        break;
      default: {
        // A push's lines whole, never cut: they name the repository and the digest to copy.
        const pushed = pushLine(e);
        if (pushed) {
          clear();
          out.write(`${pushed}\n`);
          draw();
          break;
        }
        const line = cacheLine(e);
        if (line) finish(line, e.type === 'cache-warning' ? 'warning' : undefined);
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

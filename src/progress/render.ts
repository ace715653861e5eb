import type { BuildEvent, EventSink, StepRef } from './events.js';

export type ProgressMode = 'plain' | 'json' | 'quiet' | 'tty';

interface Writable {
  write(s: string): unknown;
}

const header = (s: StepRef) => `#${s.number} [${s.stageLabel} ${s.position}/${s.total}] ${s.instruction}`;
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

/** The summary line every human-readable renderer ends with. */
export function summaryLine(e: Extract<BuildEvent, { type: 'build-done' }>): string {
  return `built ${e.name ?? e.imageId.slice(0, 19)} in ${seconds(e.durationMs)}, ${e.cached}/${e.steps} cached`;
}

/**
 * Numbered lines with every line of output, for logs (`--progress plain`). The tty renderer is the
 * same for now; a live view can replace it without touching the solver.
 */
export function plainRenderer(out: Writable): EventSink {
  return (e) => {
    switch (e.type) {
      case 'step-started':
        out.write(`${header(e.step)}\n`);
        if (e.reason) out.write(`#${e.step.number} cache miss: ${e.reason}\n`);
        break;
      case 'step-cached':
        out.write(`${header(e.step)}\n#${e.step.number} CACHED\n`);
        break;
      case 'step-log':
        out.write(`#${e.step.number} ${e.line}\n`);
        break;
      case 'step-done':
        out.write(`#${e.step.number} DONE ${seconds(e.durationMs)}\n`);
        break;
      case 'step-error':
        out.write(`#${e.step.number} ERROR ${e.message.split('\n')[0]}\n`);
        break;
      case 'build-done':
        out.write(`${summaryLine(e)}\n`);
        break;
    }
  };
}

/** One JSON event per line, for CI tools. */
export function jsonRenderer(out: Writable): EventSink {
  return (e) => void out.write(JSON.stringify(e) + '\n');
}

/** Nothing but the summary's image ID (as `docker build -q` prints). */
export function quietRenderer(out: Writable): EventSink {
  return (e) => {
    if (e.type === 'build-done') out.write(`${e.imageId}\n`);
  };
}

export function createRenderer(mode: ProgressMode, out: Writable): EventSink {
  switch (mode) {
    case 'json':
      return jsonRenderer(out);
    case 'quiet':
      return quietRenderer(out);
    case 'plain':
    case 'tty':
      return plainRenderer(out);
  }
}

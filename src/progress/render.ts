import type { EventSink, StepRef } from './events.js';
import { ttyRenderer } from './tty.js';
import { adviceLines, cacheLine, pushLine, resultLines, seconds, summaryLine } from './summary.js';
import { humanBytes, layerId } from './pull.js';

export type ProgressMode = 'plain' | 'json' | 'quiet' | 'tty';

interface Writable {
  write(s: string): unknown;
}

const header = (s: StepRef) => `#${s.number} [${s.stageLabel} ${s.position}/${s.total}] ${s.instruction}`;

export { summaryLine };

/** Numbered lines with every line of output, for logs (`--progress plain`). */
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
      case 'advice':
        for (const l of adviceLines(e.advice)) out.write(`${l}\n`);
        break;
      case 'build-done':
        for (const l of resultLines(e)) out.write(`${l}\n`);
        out.write(`${summaryLine(e)}\n`);
        break;
      case 'pull':
        // Per layer when it is in (no byte counts: logs want one line per layer, not a bar).
        if (e.state === 'resolved') out.write(`#pull ${e.image} resolved ${e.digest}\n`);
        else if (e.state === 'verified') out.write(`#pull ${e.image} ${layerId(e.digest)} pull complete ${humanBytes(e.total)}\n`);
        else if (e.state === 'exists') out.write(`#pull ${e.image} ${layerId(e.digest)} already exists\n`);
        break;
      default: {
        const line = cacheLine(e) ?? pushLine(e);
        if (line) out.write(`${line}\n`);
      }
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

export interface Renderer {
  readonly sink: EventSink;
  /** Stops timers and clears any live area (call once the build ends, failed or not). */
  close(): void;
}

export interface RendererOptions {
  /** Colours on a tty (the CLI decides: a terminal, and NO_COLOR unset). */
  readonly color?: boolean;
}

export function createRenderer(mode: ProgressMode, out: Writable & { columns?: number }, opts: RendererOptions = {}): Renderer {
  const still = (sink: EventSink): Renderer => ({ sink, close: () => {} });
  switch (mode) {
    case 'json':
      return still(jsonRenderer(out));
    case 'quiet':
      return still(quietRenderer(out));
    case 'plain':
      return still(plainRenderer(out));
    case 'tty':
      return ttyRenderer(out, { color: opts.color === true });
  }
}

import type { PullProgress, PushProgress } from './events.js';

interface Out {
  write(s: string): unknown;
  readonly columns?: number;
}

export interface PullRenderer<E = PullProgress> {
  readonly sink: (e: E) => void;
  /** Leaves the last state of every layer on screen (tty) and stops drawing. */
  close(): void;
}

/** Sizes as docker prints them: decimal units, four significant digits (`12.35MB`). */
export function humanBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${Number(v.toPrecision(4))}${units[i]}`;
}

/** `[=====>      ]`, docker's 50-column bar. */
export function progressBar(bytes: number, total: number, width = 50): string {
  const done = total > 0 ? Math.min(width, Math.floor((width * bytes) / total)) : 0;
  const head = done > 0 && done < width ? `${'='.repeat(done - 1)}>` : '='.repeat(done);
  return `[${head}${' '.repeat(width - head.length)}]`;
}

export const layerId = (digest: string) => digest.slice(digest.indexOf(':') + 1, digest.indexOf(':') + 13);

/** What docker pull shows for a layer in this state (without the id); the bar is left out below 10 columns. */
export function layerStatus(e: PullProgress, barWidth = 50): string {
  switch (e.state) {
    case 'waiting':
      return 'Waiting';
    case 'exists':
      return 'Already exists';
    case 'verified':
      return 'Pull complete';
    case 'downloading':
      return `Downloading ${barWidth >= 10 ? `${progressBar(e.bytes, e.total, barWidth)} ` : ''}${humanBytes(e.bytes)}/${humanBytes(e.total)}`;
    case 'resolved':
      return `Digest: ${e.digest}`;
  }
}

/** What `docker push` shows for a layer in this state (without the id). */
export function pushStatus(e: PushProgress, barWidth = 50): string {
  switch (e.state) {
    case 'waiting':
      return 'Waiting';
    case 'preparing':
      return 'Preparing';
    case 'uploading':
      return `Pushing ${barWidth >= 10 ? `${progressBar(e.bytes, e.total, barWidth)} ` : ''}${humanBytes(e.bytes)}/${humanBytes(e.total)}`;
    case 'pushed':
      return 'Pushed';
    case 'exists':
      return 'Layer already exists';
    case 'mounted':
      return `Mounted from ${e.from ?? ''}`;
  }
}

/**
 * `wharf pull`'s layer lines. On a tty, one line per layer updated in place (as `docker pull`
 * shows them); otherwise one line per layer when it is done, for logs.
 */
export function pullRenderer(mode: 'tty' | 'plain', out: Out): PullRenderer {
  return layerLines<PullProgress>(mode, out, (e, bar) => (e.state === 'resolved' ? undefined : layerStatus(e, bar)), (e) => e.state === 'exists' || e.state === 'verified');
}

/** `wharf push`'s layer lines, as `docker push` shows them: bars in place on a tty, a line per finished layer otherwise. */
export function pushRenderer(mode: 'tty' | 'plain', out: Out): PullRenderer<PushProgress> {
  return layerLines<PushProgress>(mode, out, pushStatus, (e) => e.state === 'pushed' || e.state === 'exists' || e.state === 'mounted');
}

/** One line per layer: redrawn in place on a tty; in plain mode written once the layer is `final`. */
function layerLines<E extends { readonly digest: string }>(mode: 'tty' | 'plain', out: Out, status: (e: E, barWidth: number) => string | undefined, final: (e: E) => boolean): PullRenderer<E> {
  if (mode === 'plain') {
    return {
      sink: (e) => {
        const s = final(e) ? status(e, 0) : undefined;
        if (s !== undefined) out.write(`${layerId(e.digest)}: ${s}\n`);
      },
      close: () => {},
    };
  }
  const lines = new Map<string, string>();
  let drawn = 0;
  const width = () => Math.max(20, (out.columns || 80) - 1);
  const draw = () => {
    let s = drawn ? `\x1b[${drawn}A` : '';
    for (const [id, text] of lines) s += `\x1b[2K${`${id}: ${text}`.slice(0, width())}\n`;
    out.write(s);
    drawn = lines.size;
  };
  return {
    sink: (e) => {
      // The bar shrinks to what the terminal leaves (id, label and sizes take about 45 columns).
      const s = status(e, Math.min(50, width() - 45));
      if (s === undefined) return;
      lines.set(layerId(e.digest), s);
      draw();
    },
    close: () => {
      lines.clear();
      drawn = 0;
    },
  };
}

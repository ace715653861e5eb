import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Headless Chromium (Debian's `chromium`, installed by scripts/ensure-host-packages.sh, which the
 * test runner runs first) opening a local page as a person would, with its own throwaway profile.
 * `consoleErrors`: what the page's scripts said on the console (`--enable-logging=stderr`), an
 * uncaught exception included.
 */
export interface HeadlessResult {
  readonly dom: string;
  readonly console: string[];
}

function chromiumBinary(): string {
  const r = spawnSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' });
  const bin = r.stdout.trim();
  if (r.status !== 0 || !bin) throw new Error('chromium is not installed: run scripts/ensure-host-packages.sh as root (or apt-get install chromium)');
  return bin;
}

function runChromium(args: string[]): { stdout: string; stderr: string } {
  const profile = mkdtempSync(join(tmpdir(), 'wharf-chromium-'));
  try {
    const r = spawnSync(chromiumBinary(), ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--hide-scrollbars', `--user-data-dir=${profile}`, '--enable-logging=stderr', '--v=0', ...args], {
      encoding: 'utf8',
      timeout: 120_000,
      maxBuffer: 64 * 1024 * 1024,
    });
    if (r.error) throw r.error;
    if (r.status !== 0) throw new Error(`chromium exited with ${r.status}: ${r.stderr.slice(-2000)}`);
    return { stdout: r.stdout, stderr: r.stderr };
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

/** Console lines of the page (`INFO:CONSOLE` entries), not Chromium's own log. */
const consoleLines = (stderr: string): string[] => stderr.split('\n').filter((l) => /:CONSOLE[:(]/.test(l));

export function dumpDom(url: string): HeadlessResult {
  const r = runChromium(['--dump-dom', url]);
  return { dom: r.stdout, console: consoleLines(r.stderr) };
}

export function screenshot(url: string, file: string, size = '1200,900'): HeadlessResult {
  const r = runChromium([`--window-size=${size}`, `--screenshot=${file}`, url]);
  return { dom: '', console: consoleLines(r.stderr) };
}

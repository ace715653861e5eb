import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { busyboxStoreForFile } from '../helpers/wharf-build.js';
import { wharfBin } from '../helpers/paths.js';

// `run -it` and `exec -it` under tmux: a pty whose size follows the window, typed commands whose
// changes the stopped container keeps (and `commit` captures), and signals to wharf forwarded.
const suite = busyboxStoreForFile('wharf-containers-tty-');
// A server of our own on a socket of our own, ended and removed afterwards.
const SOCKET = join(tmpdir(), `wharf-tty-test-${process.pid}.sock`);
const tmux = (args: string[]) => spawnSync('tmux', ['-S', SOCKET, ...args], { encoding: 'utf8' });
after(() => {
  tmux(['kill-server']);
  rmSync(SOCKET, { force: true });
});

const ok = (args: string[]): string => {
  const r = suite.env.wharf(args);
  assert.equal(r.status, 0, `wharf ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pane = (s: string) => tmux(['capture-pane', '-p', '-t', s]).stdout;

/** Waits until the pane shows `re`; returns the pane text. */
async function waitFor(s: string, re: RegExp): Promise<string> {
  for (let i = 0; i < 150; i++) {
    const text = pane(s);
    if (re.test(text)) return text;
    await sleep(100);
  }
  assert.fail(`pane ${s} never showed ${re}:\n${pane(s)}`);
}

/** A tmux session whose shell runs `wharf ARGS`, then prints `EXITED <status>`. */
function session(name: string, args: string[]): void {
  const script = join(suite.dir, `${name}.sh`);
  writeFileSync(script, `${process.execPath} ${wharfBin} --root ${suite.env.root} ${args.map((a) => `'${a}'`).join(' ')}\necho EXITED $?\nsleep 60\n`);
  const r = tmux(['new-session', '-d', '-s', name, '-x', '120', '-y', '40', `sh ${script}`]);
  assert.equal(r.status, 0, r.stderr);
}

/** wharf's pid: the child of the session's shell. */
function wharfPid(name: string): number {
  const sh = tmux(['display-message', '-p', '-t', name, '#{pane_pid}']).stdout.trim();
  return Number(readFileSync(`/proc/${sh}/task/${sh}/children`, 'utf8').trim().split(' ')[0]);
}

test('run -it: typed commands run in a pty sized like the window; exiting keeps the change and commit captures it', async () => {
  session('it', ['run', '-it', '--name', 'typed', 'busybox:test', 'sh']);
  await waitFor('it', /# ?$/m);
  tmux(['send-keys', '-t', 'it', 'echo typed-in > /typed.txt; tty; stty size', 'Enter']);
  await waitFor('it', /^40 120$/m);
  assert.match(pane('it'), /^\/dev\/pts\/0$/m);
  tmux(['resize-window', '-t', 'it', '-x', '100', '-y', '30']);
  await sleep(300);
  tmux(['send-keys', '-t', 'it', 'stty size', 'Enter']);
  await waitFor('it', /^30 100$/m);
  tmux(['send-keys', '-t', 'it', 'exit 0', 'Enter']);
  await waitFor('it', /^EXITED 0$/m);
  assert.match(ok(['ps', '-a']), /Exited \(0\).*typed/);
  ok(['commit', 'typed', 'typed:1']);
  assert.equal(ok(['run', '--rm', 'typed:1', 'cat', '/typed.txt']), 'typed-in\n');
  ok(['rm', 'typed']);
});

test('exec -it opens a shell in a running container; a signal to wharf reaches the container', async () => {
  ok(['run', '-d', '--name', 'host', 'busybox:test', 'sleep', '600']);
  session('ex', ['exec', '-it', 'host', 'sh']);
  await waitFor('ex', /# ?$/m);
  tmux(['send-keys', '-t', 'ex', 'cat /proc/1/cmdline | tr "\\0" " "; echo; tty', 'Enter']);
  await waitFor('ex', /^sleep 600\s*$/m);
  assert.match(pane('ex'), /^\/dev\/pts\/\d+$/m);
  tmux(['send-keys', '-t', 'ex', 'exit 4', 'Enter']);
  await waitFor('ex', /^EXITED 4$/m);
  ok(['rm', '-f', 'host']);

  session('sig', ['run', '-it', '--name', 'sig', 'busybox:test', 'sh', '-c', 'trap "echo got TERM; exit 7" TERM; echo waiting; while true; do sleep 0.1; done']);
  await waitFor('sig', /waiting/);
  process.kill(wharfPid('sig'), 'SIGTERM');
  const text = await waitFor('sig', /^EXITED \d+$/m);
  assert.match(text, /got TERM/);
  assert.match(text, /^EXITED 7$/m);
  ok(['rm', 'sig']);
});

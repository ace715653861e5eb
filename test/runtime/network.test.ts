import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createOciExecutor, type ProcessSpec } from '../../src/runtime/index.js';
import type { OciExecutor } from '../../src/runtime/oci-executor.js';
import { containerResolvConf } from '../../src/runtime/resolv-conf.js';
import { isUserError, nativeAddon, setNativeAddon, type NativeAddon } from '../../src/util/index.js';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { makeBusyboxRootfs, requireRoot } from '../helpers/busybox.js';
import { startRemoteHost, type RemoteHost } from '../helpers/remote-host.js';

/** The processes this test process started that are still alive, by command name. */
function ourChildren(): string[] {
  const out: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const m = /^\d+ \((.*)\) \S (\d+)/.exec(stat);
      if (m && Number(m[2]) === process.pid) out.push(m[1]!);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

const addonPath = fileURLToPath(new URL('../../native/wharf_native.node', import.meta.url));

// Twice: namespaces made by holder processes, one per run; and made by the native addon, with a
// spare kept ready (network-pool.ts), as a build has them.
for (const variant of [{ addon: false, spares: 0 }, { addon: true, spares: 1 }]) {
  describe(`RUN network \`default\`: its own namespace with outbound NAT through slirp4netns (${variant.addon ? 'addon, a spare' : 'holder process'})`, () => {
    let tmp: string;
    let rootfs: string;
    let executor: OciExecutor;
    let remote: RemoteHost;
    let local: Server;
    let localPort = 0;

    before(async () => {
      requireRoot();
      setNativeAddon(variant.addon ? () => createRequire(addonPath)(addonPath) as NativeAddon : undefined);
      if (variant.addon) assert.equal(typeof nativeAddon()?.newNetNamespace, 'function', 'the build made the addon, with newNetNamespace');
      tmp = mkdtempSync(join(tmpdir(), 'wharf-network-'));
      rootfs = join(tmp, 'rootfs');
      makeBusyboxRootfs(rootfs);
      // Only loopback nameservers on the "host": the RUN gets docker's public defaults instead.
      executor = await createOciExecutor({ stateDir: join(tmp, 'state'), spareNetworks: variant.spares, resolvConf: 'search example.test\nnameserver 127.0.0.53\nnameserver ::1\noptions edns0\n' });
      remote = await startRemoteHost({ 'hello.txt': 'hello from the remote host\n' });
      local = createServer((_req, res) => res.end('host loopback service\n'));
      await new Promise<void>((r) => local.listen(0, '127.0.0.1', () => r()));
      localPort = (local.address() as { port: number }).port;
    });
    after(async () => {
      await executor?.close();
      setNativeAddon(undefined);
      await remote?.close();
      await new Promise((r) => (local ? local.close(r) : r(undefined)));
      if (tmp) rmSync(tmp, { recursive: true, force: true });
    });

    async function run(script: string, extra: Partial<ProcessSpec> = {}, ex: OciExecutor = executor) {
      const stdout: string[] = [];
      const stderr: string[] = [];
      const spec: ProcessSpec = { args: ['/bin/sh', '-c', script], env: [], cwd: '/', network: 'default', ...extra };
      const status = await ex.run(spec, rootfs, [], { stdout: (l) => stdout.push(l), stderr: (l) => stderr.push(l) });
      return { ...status, stdout, stderr };
    }

    it('reaches a server on another host, with an address and a default route of its own', async () => {
      const r = await run(`wget -q -O - ${remote.url}/hello.txt && ip -4 -o addr show tap0 | awk '{print $4}' && ip route | grep default`);
      assert.equal(r.exitCode, 0, r.stderr.join('\n'));
      assert.equal(r.stdout[0], 'hello from the remote host');
      assert.equal(r.stdout[1], '10.0.2.100/24');
      assert.match(r.stdout[2]!, /^default via 10\.0\.2\.2 dev tap0/);
    });

    it("cannot reach the host's loopback services, neither at 127.0.0.1 nor through the gateway", async () => {
      // nc, not wget: this busybox's wget -T crashes (exit 139), which would pass for "unreachable".
      const probe = `for a in 127.0.0.1 10.0.2.2; do printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 $a ${localPort}; done; true`;
      const r = await run(probe);
      assert.equal(r.exitCode, 0, r.stderr.join('\n'));
      assert.ok(!r.stdout.some((l) => l.includes('host loopback service')), r.stdout.join('\n'));
      // The same probe does reach it from the host's network.
      const host = await run(probe, { network: 'host' });
      assert.ok(host.stdout.some((l) => l.includes('host loopback service')), host.stdout.join('\n'));
    });

    it("has the host's resolv.conf without loopback nameservers (docker's 8.8.8.8/8.8.4.4 when none is left) and --add-host lines", async () => {
      const r = await run('cat /etc/resolv.conf; grep db /etc/hosts', { extraHosts: ['10.1.2.3\tdb'] });
      assert.equal(r.exitCode, 0, r.stderr.join('\n'));
      assert.deepEqual(r.stdout, ['search example.test', 'options edns0', 'nameserver 8.8.8.8', 'nameserver 8.8.4.4', '10.1.2.3\tdb']);
      assert.equal(containerResolvConf('nameserver 10.0.0.2\nnameserver 127.0.0.1\n'), 'nameserver 10.0.0.2\n');
    });

    it("with network 'none' reaches nothing", async () => {
      const probe = `printf 'GET /hello.txt HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${remote.ip} ${remote.port}; tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '`;
      const r = await run(probe, { network: 'none' });
      assert.deepEqual(r.stdout, ['lo']);
      const reached = await run(probe);
      assert.ok(reached.stdout.includes('hello from the remote host'), reached.stdout.join('\n'));
    });

    it('leaves no slirp4netns or namespace holder running after the runs', async () => {
      if (variant.spares) {
        assert.ok(ourChildren().includes('slirp4netns'), 'the spare is ready');
        await executor.close();
      }
      // A run does not wait for them to exit (network.ts): they are killed and gone within moments.
      const left = () => ourChildren().filter((c) => /slirp4netns|unshare|cat|sh/.test(c));
      for (let i = 0; i < 100 && left().length; i++) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(left(), []);
    });

    it('without slirp4netns: a clear error that names the package, and nothing left behind', async () => {
      const missing = await createOciExecutor({ stateDir: join(tmp, 'state2'), slirp4netns: join(tmp, 'no-such-dir', 'slirp4netns') });
      await assert.rejects(run('true', {}, missing), (e: unknown) => {
        assert.ok(isUserError(e));
        assert.equal(e.code, 'runtime.network-missing');
        assert.match(e.message, /slirp4netns \(Debian package slirp4netns\), which is not installed/);
        assert.match(e.hint ?? '', /apt-get install slirp4netns.*--network none/);
        return true;
      });
      assert.deepEqual(readdirSync(join(tmp, 'state2', 'bundles')), []);
      assert.deepEqual(ourChildren().filter((c) => /unshare|cat|sh/.test(c)), []);
    });
  });
}

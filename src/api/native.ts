/**
 * The library wires the native addon when it was built (dist/native/wharf_native.node, by the
 * install script); without it, wharf uses its fallbacks (mount/umount/getfattr programs, Node's
 * own calls). In the CLI's CommonJS bundle import.meta is empty: the CLI wires the addon itself
 * from its script path.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { setNativeAddon, setNativeLauncher, type NativeAddon } from '../util/index.js';

const here = (import.meta as { url?: string }).url;
if (typeof here === 'string') {
  const addon = fileURLToPath(new URL('../../native/wharf_native.node', here));
  if (existsSync(addon)) setNativeAddon(() => createRequire(addon)(addon) as NativeAddon);
  const launcher = fileURLToPath(new URL('../../native/wharf-launch', here));
  if (existsSync(launcher)) setNativeLauncher(launcher);
}

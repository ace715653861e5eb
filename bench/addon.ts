/** Benchmarks measure what ships: the native addon the CLI loads, when the build made it. */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { setNativeAddon, setNativeLauncher, type NativeAddon } from '../src/util/index.js';

export function useShippedAddon(): boolean {
  const addon = fileURLToPath(new URL('../native/wharf_native.node', import.meta.url));
  const launcher = fileURLToPath(new URL('../native/wharf-launch', import.meta.url));
  if (existsSync(launcher)) setNativeLauncher(launcher);
  if (!existsSync(addon)) return false;
  setNativeAddon(() => createRequire(addon)(addon) as NativeAddon);
  return true;
}

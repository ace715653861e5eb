// The addon `npm run build` makes (native/wharf_native.c), for tests that load it in process.
import { after, before } from 'node:test';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { setNativeAddon, type NativeAddon } from '../../src/util/index.js';

export const addonPath = fileURLToPath(new URL('../../native/wharf_native.node', import.meta.url));

/** Loads the addon for every test of the file, and unloads it after them. */
export function withNativeAddon(): void {
  before(() => setNativeAddon(() => createRequire(addonPath)(addonPath) as NativeAddon));
  after(() => setNativeAddon(undefined));
}

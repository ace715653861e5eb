import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project root (tests run compiled from dist/test/..., so walk up past dist). */
export const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** Shared test data from BuildKit, moby, fsutil, umoci and the OCI image spec (never copied in). */
export const conformanceDir = join(projectRoot, '..', 'shared', 'conformance');
/** The CLI entry, for end-to-end tests that run the real command. */
export const wharfBin = join(projectRoot, 'bin', 'wharf.js');

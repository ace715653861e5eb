/**
 * wharf's version, as package.json says (test/cli/version.test.ts keeps them equal). A constant
 * rather than a read of package.json, so `wharf --version` costs no file access and the bundled
 * CLI (dist/wharf.cjs) needs no path back to the checkout.
 */
export const WHARF_VERSION = '0.1.0';

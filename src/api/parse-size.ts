// Sizes as docker writes them, for flags of any command. Its own module: `pull` and `push` need it,
// and build-limits.ts (which also has it) brings in the whole build planner with it.

/** Docker's RAMInBytes: `512`, `64k`, `64m`, `1g`, `1.5g`, `2GiB`, `64mb` (units of 1024). */
export function parseSize(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?) ?([kmgtp])?i?b?$/i.exec(text.trim());
  if (!m) return undefined;
  const power = m[2] ? 'kmgtp'.indexOf(m[2].toLowerCase()) + 1 : 0;
  const n = Math.floor(Number(m[1]) * 1024 ** power);
  return Number.isSafeInteger(n) ? n : undefined;
}

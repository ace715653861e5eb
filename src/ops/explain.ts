import type { CacheRecord, KeyMaterialField } from '../cache/index.js';
import { digestOfJSON } from '../hash/index.js';
import { diffTreeRecords, type TreeRecord } from '../context/index.js';
import type { KeyInputs, MissPart } from '../solver/index.js';

const SHOWN = 5;
// BuildKit's SecretsUsedInArgOrEnv words: values of such names are never shown.
const SECRET_WORDS = /(?:^|[^a-z])(apikey|auth|credential|credentials|key|password|pword|passwd|secret|token)(?:[^a-z]|$)/i;

/** Whether a build arg or env name looks like it holds a secret (its value is never shown or stored for explaining). */
export const secretLooking = (name: string): boolean => SECRET_WORDS.test(name) && !/public/i.test(name);

/**
 * A RUN key's env entry: a secret-looking build arg keeps only the digest of its value, so the
 * key still changes with it but the record (what misses are explained from) never holds it.
 */
export function keyedEnv(entry: string, args: readonly string[]): string {
  const name = entry.slice(0, entry.indexOf('='));
  if (!args.includes(name) || !secretLooking(name)) return entry;
  return `${name}=${digestOfJSON(entry.slice(name.length + 1))}`;
}

const filesOf = (detail: unknown): TreeRecord[] | undefined =>
  detail && typeof detail === 'object' && Array.isArray((detail as { files?: unknown }).files) ? (detail as { files: TreeRecord[] }).files : undefined;

/** A RUN's detail: the build args in scope (their values are in the key's env). */
const argsOf = (detail: unknown): string[] =>
  detail && typeof detail === 'object' && Array.isArray((detail as { args?: unknown }).args) ? (detail as { args: string[] }).args : [];

const envMap = (exec: unknown): Map<string, string> =>
  new Map(((exec as { env?: string[] } | undefined)?.env ?? []).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));

const shown = (v: string | undefined) => (v === undefined ? '(unset)' : /^[\w.:/@+,=-]+$/.test(v) ? v : JSON.stringify(v));

/** What differs in a step's own fields (`exec`, `inputs`) against the record it is compared with. */
export function explainStep(now: KeyInputs, before: CacheRecord, fields: readonly KeyMaterialField[]): MissPart[] {
  const parts: MissPart[] = [];
  for (const field of fields) {
    if (field === 'inputs') {
      const [a, b] = [filesOf(before.detail), filesOf(now.detail)];
      const from = 'inputs' in now.material ? now.material.inputs : undefined;
      if (from && 'stage' in from) parts.push({ kind: 'files', text: 'the stage copied from changed' });
      else if (from && 'image' in from) parts.push({ kind: 'files', text: 'the image copied from changed' });
      else if (!a || !b) parts.push({ kind: 'files', text: 'the copied files changed' });
      else {
        const changes = diffTreeRecords(a, b);
        const list = changes.slice(0, SHOWN).map((c) => `${c.path} (${c.change}${c.detail ? `: ${c.detail}` : ''})`).join(', ');
        parts.push({ kind: 'files', text: `files: ${list}${changes.length > SHOWN ? ` and ${changes.length - SHOWN} more` : ''}`, subjects: changes.map((c) => c.path) });
      }
    } else if (field === 'exec') {
      parts.push(...execParts(now, before));
    }
  }
  return parts;
}

function execParts(now: KeyInputs, before: CacheRecord): MissPart[] {
  const parts: MissPart[] = [];
  const [a, b] = [before.material.exec as Record<string, unknown> | undefined, now.material.exec as Record<string, unknown> | undefined];
  const args = new Set([...argsOf(before.detail), ...argsOf(now.detail)]);
  for (const k of new Set([...Object.keys(a ?? {}), ...Object.keys(b ?? {})])) {
    if (JSON.stringify(a?.[k]) === JSON.stringify(b?.[k])) continue;
    if (k !== 'env') {
      const simple = (v: unknown) => (typeof v === 'string' || v === null || v === undefined ? shown(v ?? undefined) : undefined);
      const [x, y] = [simple(a?.[k]), simple(b?.[k])];
      parts.push({ kind: 'exec', text: x !== undefined && y !== undefined ? `${k} ${x} → ${y}` : `${k} changed` });
      continue;
    }
    const [ea, eb] = [envMap(a), envMap(b)];
    for (const name of [...new Set([...ea.keys(), ...eb.keys()])].filter((n) => ea.get(n) !== eb.get(n))) {
      const what = args.has(name) ? 'build arg' : 'env';
      const values = secretLooking(name) ? 'changed (value not shown)' : `${shown(ea.get(name))} → ${shown(eb.get(name))}`;
      parts.push({ kind: args.has(name) ? 'build-arg' : 'env', text: `${what} ${name}: ${values}`, subjects: [name] });
    }
  }
  return parts;
}

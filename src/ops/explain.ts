import { explainMiss, type CacheRecord } from '../cache/index.js';
import { diffTreeRecords, type TreeRecord } from '../context/index.js';
import type { KeyInputs } from '../solver/index.js';

const SHOWN = 5;

const filesOf = (detail: unknown): TreeRecord[] | undefined =>
  detail && typeof detail === 'object' && Array.isArray((detail as { files?: unknown }).files) ? (detail as { files: TreeRecord[] }).files : undefined;

const envMap = (exec: unknown): Map<string, string> =>
  new Map(((exec as { env?: string[] } | undefined)?.env ?? []).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));

/** One line saying what changed against the latest earlier record of the same instruction. */
export function explainStep(now: KeyInputs, before: CacheRecord): string {
  const parts: string[] = [];
  for (const field of explainMiss(now.material, before.material)) {
    switch (field) {
      case 'parent':
        parts.push('an earlier step changed');
        break;
      case 'inputs': {
        const [a, b] = [filesOf(before.detail), filesOf(now.detail)];
        const from = 'inputs' in now.material ? now.material.inputs : undefined;
        if (from && 'stage' in from) parts.push('the stage copied from changed');
        else if (from && 'image' in from) parts.push('the image copied from changed');
        else if (!a || !b) parts.push('the copied files changed');
        else {
          const changes = diffTreeRecords(a, b);
          const shown = changes.slice(0, SHOWN).map((c) => `${c.path} (${c.change})`).join(', ');
          parts.push(`files: ${shown}${changes.length > SHOWN ? ` and ${changes.length - SHOWN} more` : ''}`);
        }
        break;
      }
      case 'exec': {
        const [a, b] = [before.material.exec as Record<string, unknown> | undefined, now.material.exec as Record<string, unknown> | undefined];
        for (const k of new Set([...Object.keys(a ?? {}), ...Object.keys(b ?? {})])) {
          if (JSON.stringify(a?.[k]) === JSON.stringify(b?.[k])) continue;
          if (k !== 'env') {
            parts.push(`${k} changed`);
            continue;
          }
          const [ea, eb] = [envMap(a), envMap(b)];
          const names = [...new Set([...ea.keys(), ...eb.keys()])].filter((n) => ea.get(n) !== eb.get(n));
          parts.push(`environment: ${names.join(', ')}`);
        }
        break;
      }
      default:
        parts.push(`${field} changed`);
    }
  }
  return parts.join('; ') || 'no earlier record matches';
}

/**
 * fsck for snapshots. A snapshot is named by a chain ID, which every later image and build trusts,
 * so fsck checks the name against what the snapshot was made from: the layer blob it records must
 * decompress to the diff_id that, with the recorded parent chain, gives the name. (The unpacked
 * files themselves are not re-tarred: a loaded layer's tar is not reproducible byte for byte.)
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { isSha256, sha256FromHex, sha256Of, type Sha256 } from '../hash/index.js';
import { layerDiffId } from '../layer/index.js';
import type { BlobStore } from '../store/index.js';
import type { LayerRef, SnapshotProblem } from './types.js';
import { SYNCED_DIR } from './durable.js';

/** The file in a snapshot dir that records what its chain ID was computed from. */
export const RECORD = 'layer';

/** The short links for overlay mounts (overlay.ts): not a chain ID, so never taken for a snapshot. */
export const LINK_DIR = 'l';
/** The dirs in snapshots/ that are not snapshots. */
export const NOT_SNAPSHOTS: ReadonlySet<string> = new Set([LINK_DIR, SYNCED_DIR]);

export interface LayerRecord {
  readonly diffId: Sha256;
  /** The chain ID of the layers below; null for a bottom layer. */
  readonly parent: Sha256 | null;
}

async function readRecord(snap: string): Promise<LayerRecord | 'bad' | undefined> {
  const text = await readFile(join(snap, RECORD), 'utf8').catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? undefined : ''));
  if (text === undefined) return undefined;
  try {
    const r = JSON.parse(text) as Partial<LayerRecord> | null;
    if (r && isSha256(r.diffId ?? '') && (r.parent === null || isSha256(r.parent ?? ''))) return r as LayerRecord;
  } catch {
    // reported below
  }
  return 'bad';
}

export async function checkSnapshots(dir: string, blobs: BlobStore, known: ReadonlyMap<Sha256, LayerRef>): Promise<SnapshotProblem[]> {
  const problems: SnapshotProblem[] = [];
  for (const name of (await readdir(dir).catch(() => [] as string[])).sort()) {
    if (name.startsWith('.tmp-') || NOT_SNAPSHOTS.has(name)) continue;
    if (!/^[0-9a-f]{64}$/.test(name)) {
      problems.push({ chain: name, message: `snapshots/${name} is not named by a chain ID` });
      continue;
    }
    const chain = sha256FromHex(name);
    const snap = join(dir, name);
    const say = (why: string) => problems.push({ chain, message: `snapshot ${chain}: ${why}` });
    const blob = (await readFile(join(snap, 'blob'), 'utf8').catch(() => '')).trim();
    if (!isSha256(blob)) {
      say('has no valid blob record');
      continue;
    }
    if (!(await blobs.has(blob))) continue; // an orphan: `wharf prune` removes it
    const record = await readRecord(snap);
    if (record === 'bad') {
      say(`its ${RECORD} record is unreadable`);
      continue;
    }
    const expected = record?.diffId ?? known.get(chain)?.diffId;
    if (!expected) continue; // made before records existed and named by no image: nothing to compare
    if (record && (record.parent ? sha256Of(`${record.parent} ${record.diffId}`) : record.diffId) !== chain) {
      say(`its recorded diff_id ${record.diffId} on parent ${record.parent ?? '(none)'} gives another chain ID than its name`);
      continue;
    }
    let actual: Sha256;
    try {
      actual = await layerDiffId(blobs.openRead(blob));
    } catch (e) {
      say(`its layer blob ${blob} cannot be read (${(e as Error).message})`);
      continue;
    }
    if (actual !== expected) say(`was made from layer blob ${blob}, whose diff_id is ${actual}, not ${expected}`);
    else if (record && known.get(chain) && known.get(chain)!.diffId !== actual) say(`images name it for diff_id ${known.get(chain)!.diffId}, its blob has ${actual}`);
  }
  return problems;
}

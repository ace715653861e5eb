/**
 * Hostile archives for `wharf load` and `wharf import`: a valid base (a `wharf save` archive, a
 * docker-style archive, a rootfs tarball) with entries swapped to symlinks, FIFOs, devices and
 * directories, duplicated, reordered, renamed out of the archive, JSON corrupted, sizes made huge,
 * then bytes flipped or the file truncated. Case `i` of seed `s` is always the same bytes.
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { caseRng, type Rng } from './rng.js';
import { writeTar, type RawEntry } from './tar.js';

export type BaseKind = 'save' | 'docker' | 'rootfs';

export interface ArchiveBase {
  readonly kind: BaseKind;
  readonly entries: readonly RawEntry[];
}

export interface ArchiveCase {
  readonly bytes: Buffer;
  /** The wharf arguments after `--root STORE`, with FILE standing for the archive. */
  readonly args: readonly string[];
  readonly how: string;
}

const file = (name: string, data: string | Buffer, mode = 0o644): RawEntry => ({ name, type: '0', mode, linkname: '', data: Buffer.from(data) });
const dir = (name: string): RawEntry => ({ name, type: '5', mode: 0o755, linkname: '', data: Buffer.alloc(0) });
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** The files of a tiny image: what import takes as a rootfs and the docker archive carries as its layer. */
export function rootfsEntries(): RawEntry[] {
  return [
    dir('bin/'), file('bin/hello', '#!/bin/sh\necho hello\n', 0o755), { name: 'bin/sh', type: '2', mode: 0o777, linkname: 'hello', data: Buffer.alloc(0) },
    dir('etc/'), file('etc/passwd', 'root:x:0:0:root:/root:/bin/sh\n'), file('etc/group', 'root:x:0:\n'),
    { name: 'etc/hard', type: '1', mode: 0o644, linkname: 'etc/passwd', data: Buffer.alloc(0) }, file('.wh.gone', ''),
  ];
}

/** A docker-style archive (manifest.json, config, one layer.tar), as `docker save` lays it out. */
export function dockerArchiveEntries(): RawEntry[] {
  const layer = writeTar(rootfsEntries());
  const layerHex = sha256(layer);
  const config = Buffer.from(JSON.stringify({
    architecture: 'amd64', os: 'linux', config: { Env: ['PATH=/bin'], Cmd: ['/bin/hello'] },
    rootfs: { type: 'layers', diff_ids: [`sha256:${layerHex}`] }, history: [{ created_by: 'fuzz' }],
  }));
  const configHex = sha256(config);
  return [
    dir(`${layerHex}/`), file(`${layerHex}/layer.tar`, layer), file(`${layerHex}/VERSION`, '1.0'), file(`${configHex}.json`, config),
    file('manifest.json', JSON.stringify([{ Config: `${configHex}.json`, RepoTags: ['fuzz:docker'], Layers: [`${layerHex}/layer.tar`] }])),
    file('repositories', JSON.stringify({ fuzz: { docker: layerHex } })),
  ];
}

const LINK_TARGETS = ['/etc/passwd', '/dev/zero', '../../../../etc/shadow', '/', '.', 'manifest.json', 'blobs', '/proc/self/environ', 'x'.repeat(200)];
const HOSTILE_NAMES = ['../escape', '/abs', './manifest.json', 'a/../../b', 'x'.repeat(300), 'dup', '', '.', 'blobs/sha256/../../../x'];
const JSON_REPLACEMENTS = [
  'null', '[]', '{}', '"x"', '1e999', '-1', 'true', '{"manifests":{}}', '{"manifests":[null]}', '[{"Config":null,"Layers":"x"}]',
  '[{"Config":"/etc/passwd","Layers":["../../x"]}]', '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:../../etc","size":1}]}',
  '{"rootfs":{"diff_ids":"x"}}', '{"rootfs":null}', '{"config":{"Env":[1,2]}}', '{"layers":[{"digest":"sha256:' + '0'.repeat(64) + '","size":1e18}]}',
];

function deepJson(r: Rng): string {
  const n = r.pick([1000, 10_000, 100_000]);
  return r.chance(0.5) ? '['.repeat(n) + ']'.repeat(n) : '{"a":'.repeat(n) + '1' + '}'.repeat(n);
}

/** Edits a JSON document: a field set to a hostile value, or the whole text replaced or cut. */
function corruptJson(r: Rng, data: Buffer): Buffer {
  const text = data.toString('utf8');
  switch (r.int(6)) {
    case 0:
      return Buffer.from(r.pick(JSON_REPLACEMENTS));
    case 1:
      return Buffer.from(text.slice(0, r.int(text.length)));
    case 2:
      return Buffer.from(deepJson(r));
    case 3: {
      // A value in place: digests, sizes, names and lists swapped for hostile ones.
      const swaps: [RegExp, string][] = [
        [/"size":\s*\d+/, `"size":${r.pick(['1e18', '-5', '0', '9007199254740993', '"12"'])}`],
        [/"digest":\s*"[^"]*"/, `"digest":${r.pick(['"sha256:../../../etc/passwd"', '"sha256:abc"', '"md5:00"', 'null', '"sha256:' + 'f'.repeat(64) + '"'])}`],
        [/"Config":\s*"[^"]*"/, `"Config":${r.pick(['"../../etc/passwd"', '"/etc/passwd"', 'null', '["x"]', '"blobs"', '"."'])}`],
        [/"(Layers|layers|manifests|diff_ids)":\s*\[/, `"$1":${r.pick(['"x",', '{"a":1},', 'null,', '[[]],'])}[`],
        [/"mediaType":\s*"[^"]*"/, `"mediaType":${r.pick(['"application/vnd.oci.image.index.v1+json"', '"text/plain"', '1'])}`],
      ];
      const [re, to] = r.pick(swaps);
      return Buffer.from(text.replace(re, to));
    }
    case 4:
      return Buffer.concat([data, Buffer.from(r.pick([',', ']', '}', '\0', 'garbage']))]);
    default: {
      const b = Buffer.from(data);
      for (let k = 0; k < 1 + r.int(4) && b.length; k++) b[r.int(b.length)] = r.int(256);
      return b;
    }
  }
}

const isJsonName = (e: RawEntry) => /(\.json|oci-layout|repositories)$/.test(e.name) || /^blobs\/sha256\/[0-9a-f]{64}$/.test(e.name) && e.data[0] === 0x7b;

/** One structural change to the entry list. */
function mutateEntries(r: Rng, entries: RawEntry[]): string {
  const i = r.int(entries.length);
  const e = entries[i]!;
  switch (r.int(9)) {
    case 0: {
      const type = r.pick(['2', '6', '3', '4', '5', '1', '7', 'g', 'Z']);
      const linkname = type === '1' || type === '2' ? r.pick([...LINK_TARGETS, ...entries.map((x) => x.name)]) : '';
      entries[i] = { ...e, type, linkname, data: type === '0' ? e.data : Buffer.alloc(0), ...(type === '3' ? { devmajor: 1, devminor: r.pick([3, 5, 8]) } : {}) };
      return `${e.name} as type ${type}${linkname ? ` -> ${linkname.slice(0, 40)}` : ''}`;
    }
    case 1: {
      // A device or FIFO that still claims a size: readers that trust the size see data here.
      entries[i] = { ...e, type: r.pick(['3', '4', '6']), devmajor: 1, devminor: 5 };
      return `${e.name} as a device/FIFO with size ${e.data.length}`;
    }
    case 2:
      entries.splice(r.int(entries.length + 1), 0, { ...e, data: r.chance(0.5) ? e.data : Buffer.from('other') });
      return `${e.name} duplicated`;
    case 3:
      if (r.chance(0.5)) entries.reverse();
      else for (let k = entries.length - 1; k > 0; k--) { const j = r.int(k + 1); [entries[k], entries[j]] = [entries[j]!, entries[k]!]; }
      return 'entries reordered';
    case 4:
      entries.splice(i, 1);
      return `${e.name} removed`;
    case 5: {
      const json = entries.filter(isJsonName);
      const target = json.length ? r.pick(json) : e;
      target.data = corruptJson(r, target.data);
      return `${target.name} JSON corrupted`;
    }
    case 6:
      entries[i] = { ...e, sizeOverride: r.pick([2 ** 33, 2 ** 40, 8 ** 11 - 1, e.data.length + 1, 0]) };
      return `${e.name} header size ${entries[i]!.sizeOverride}`;
    case 7: {
      const name = r.pick(HOSTILE_NAMES);
      entries[i] = { ...e, name };
      return `${e.name} renamed ${name.slice(0, 40)}`;
    }
    default: {
      // A layer entry rewritten as a different (valid) tar: its digest no longer matches.
      entries[i] = { ...e, data: writeTar([file('evil', 'x'), { name: '../../evil', type: '0', mode: 0o644, linkname: '', data: Buffer.from('y') }]) };
      return `${e.name} content replaced by a tar with ../`;
    }
  }
}

/** Byte-level damage to the finished archive. */
function mutateBytes(r: Rng, b: Buffer): { bytes: Buffer; how: string } {
  switch (r.int(4)) {
    case 0: {
      const c = Buffer.from(b);
      const n = 1 + r.int(16);
      for (let k = 0; k < n; k++) {
        const at = r.int(c.length);
        c[at] = (c[at] ?? 0) ^ (1 << r.int(8));
      }
      return { bytes: c, how: `${n} bit flips` };
    }
    case 1: {
      const at = r.int(b.length);
      return { bytes: b.subarray(0, at), how: `truncated at ${at}` };
    }
    case 2: {
      const at = r.int(b.length);
      return { bytes: Buffer.concat([b.subarray(0, at), Buffer.alloc(512 * (1 + r.int(3)), r.int(256)), b.subarray(at)]), how: `garbage at ${at}` };
    }
    default:
      return { bytes: r.chance(0.5) ? gzipSync(b) : Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0]), b.subarray(0, 1000)]), how: 'gzip (or a bogus gzip header)' };
  }
}

export function archiveCase(seed: number, index: number, bases: readonly ArchiveBase[]): ArchiveCase {
  const r = caseRng(seed, index, 2);
  const base = r.pick(bases);
  const entries = base.entries.map((e) => ({ ...e, data: Buffer.from(e.data) }));
  const how: string[] = [base.kind];
  if (r.chance(0.05)) return { bytes: Buffer.alloc(r.pick([0, 1, 512, 1024])), args: r.chance(0.5) ? ['load', '-i', 'FILE'] : ['import', 'FILE', 'fuzz:imp'], how: 'empty or zero archive' };
  const structural = r.chance(0.85) ? 1 + r.int(3) : 0;
  for (let k = 0; k < structural && entries.length; k++) how.push(mutateEntries(r, entries));
  let bytes = writeTar(entries);
  if (structural === 0 || r.chance(0.25)) {
    const m = mutateBytes(r, bytes);
    bytes = m.bytes;
    how.push(m.how);
  }
  const load = base.kind !== 'rootfs' && r.chance(0.9);
  const args = load ? ['load', '-i', 'FILE', ...(r.chance(0.3) ? ['-t', 'fuzz:tagged'] : [])] : ['import', 'FILE', 'fuzz:imp'];
  return { bytes, args, how: how.join('; ') };
}

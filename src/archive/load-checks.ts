/**
 * Shape checks for the JSON documents of an archive to load, so a hostile or broken one is a clear
 * error naming the document, never a TypeError deep in the loader.
 */
import { isSha256, type Sha256 } from '../hash/index.js';
import type { Descriptor } from '../store/index.js';
import { badArchive } from './members.js';

/** Limits on the documents read whole into memory (as containerd limits manifests and configs). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
export const MAX_CONFIG_BYTES = 8 * 1024 * 1024;

export type JsonObject = Record<string, unknown>;

export const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

export function parseJSON(bytes: Buffer, what: string, input: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw badArchive(input, `${what} is not valid JSON (${(e as Error).message})`);
  }
}

export function parseObject(bytes: Buffer, what: string, input: string): JsonObject {
  const v = parseJSON(bytes, what, input);
  if (!isObject(v)) throw badArchive(input, `${what} is ${v === null ? 'null' : Array.isArray(v) ? 'a list' : `a ${typeof v}`}, not a JSON object`);
  return v;
}

/** The diff_ids of an image config, checked to be sha256 digests, `count` of them. */
export function diffIdsOf(config: JsonObject, what: string, input: string, count: number): Sha256[] {
  const rootfs = config.rootfs;
  const ids = isObject(rootfs) ? rootfs.diff_ids : undefined;
  if (!Array.isArray(ids) || !ids.every((d) => typeof d === 'string' && isSha256(d))) throw badArchive(input, `${what} has no rootfs.diff_ids list of sha256 digests`);
  if (ids.length !== count) throw badArchive(input, `${what} lists ${ids.length} diff_ids but the image has ${count} layers`);
  return ids as Sha256[];
}

/** A descriptor from an index or manifest, checked field by field. */
export function descriptorOf(v: unknown, what: string, input: string): Descriptor {
  if (!isObject(v) || typeof v.mediaType !== 'string' || typeof v.digest !== 'string' || typeof v.size !== 'number' || !Number.isSafeInteger(v.size) || v.size < 0) {
    throw badArchive(input, `${what} is not a descriptor (mediaType, digest, size)`);
  }
  if (!isSha256(v.digest)) throw badArchive(input, `${what} has digest ${JSON.stringify(v.digest.slice(0, 80))}, not a sha256 digest`);
  if (v.annotations !== undefined && (!isObject(v.annotations) || !Object.values(v.annotations).every((a) => typeof a === 'string'))) throw badArchive(input, `${what} has malformed annotations`);
  return v as unknown as Descriptor;
}

export function listOf(v: unknown, what: string, input: string): unknown[] {
  if (!Array.isArray(v)) throw badArchive(input, `${what} is not a list`);
  return v;
}

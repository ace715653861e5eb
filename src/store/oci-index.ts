import type { Descriptor } from './types.js';
import { familiarName, fullName, parseReference, type Reference } from './reference.js';

/** index.json media type and the annotations a tag entry carries. */
export const MEDIA_TYPE_INDEX = 'application/vnd.oci.image.index.v1+json';
export const MEDIA_TYPE_LAYOUT_HEADER = 'application/vnd.oci.layout.header.v1+json';
/** What skopeo (`oci:<root>:<ref>`) and umoci (`--image <root>:<ref>`) match: we store `app:1`. */
export const ANNOTATION_REF_NAME = 'org.opencontainers.image.ref.name';
/** The full normalised name, as containerd and `docker save` (25+) write it. */
export const ANNOTATION_IMAGE_NAME = 'io.containerd.image.name';

export interface OciIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

export const emptyIndex = (): OciIndex => ({ schemaVersion: 2, mediaType: MEDIA_TYPE_INDEX, manifests: [] });

/** A tagged image: its parsed reference, full name and manifest descriptor. */
export interface TagEntry {
  readonly ref: Reference;
  /** `docker.io/library/app:1` */
  readonly name: string;
  readonly descriptor: Descriptor;
}

/**
 * The tag an index entry names, if any: from the full-name annotation, else from ref.name
 * (entries written by other tools). ref.name values that are bare tags (`1.0`, as some tools
 * write) still parse, as `docker.io/library/1.0:latest`, which is what `wharf` would call them.
 */
export function tagOf(d: Descriptor): TagEntry | undefined {
  const a = d.annotations ?? {};
  const raw = a[ANNOTATION_IMAGE_NAME] ?? a[ANNOTATION_REF_NAME];
  if (raw === undefined) return undefined;
  const parsed = parseReference(raw);
  if (!parsed.ok || parsed.value.tag === undefined) return undefined;
  const ref = { domain: parsed.value.domain, path: parsed.value.path, tag: parsed.value.tag };
  return { ref, name: fullName(ref), descriptor: d };
}

/** Descriptor for a tag entry: the manifest's own fields plus our two name annotations. */
export function tagDescriptor(ref: Reference, manifest: Descriptor): Descriptor {
  const bare = { domain: ref.domain, path: ref.path, tag: ref.tag };
  const { annotations, ...rest } = manifest;
  return {
    ...rest,
    annotations: { ...(annotations ?? {}), [ANNOTATION_IMAGE_NAME]: fullName(bare), [ANNOTATION_REF_NAME]: familiarName(bare) },
  };
}

/** Sets or moves a tag in place (keeps the order of other entries); other entries are untouched. */
export function withTag(index: OciIndex, ref: Reference, manifest: Descriptor): OciIndex {
  const name = fullName({ domain: ref.domain, path: ref.path, tag: ref.tag });
  const entry = tagDescriptor(ref, manifest);
  let replaced = false;
  const manifests: Descriptor[] = [];
  for (const d of index.manifests) {
    if (tagOf(d)?.name !== name) manifests.push(d);
    else if (!replaced) {
      manifests.push(entry);
      replaced = true;
    }
  }
  if (!replaced) manifests.push(entry);
  return { ...index, manifests };
}

export function withoutTag(index: OciIndex, ref: Reference): { index: OciIndex; removed?: Descriptor } {
  const name = fullName({ domain: ref.domain, path: ref.path, tag: ref.tag });
  let removed: Descriptor | undefined;
  const manifests = index.manifests.filter((d) => {
    if (tagOf(d)?.name !== name) return true;
    removed ??= d;
    return false;
  });
  return { index: { ...index, manifests }, ...(removed ? { removed } : {}) };
}

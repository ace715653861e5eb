/**
 * image: image config, manifest and history (docker-compatible fields), built up step by step and
 * committed to the store; loading an image back by name and the views `inspect`/`history` print.
 *
 *   let draft = fromImage(config, layers) | scratchImage(platform)
 *   draft = addLayer(draft, layer, history) | addEmptyHistory(draft, history)
 *   const committed = await commitImage(blobs, draft, opts)
 *   const loaded = await loadImage(store, 'app:1', platform)
 */
export { MEDIA_TYPE_CONFIG, MEDIA_TYPE_MANIFEST, type ContainerConfig, type HistoryEntry, type ImageConfig, type ImageManifest } from './types.js';
export {
  addEmptyHistory,
  addLayer,
  commitImage,
  documentBytes,
  fromImage,
  imageTimestamp,
  scratchImage,
  updateContainerConfig,
  type CommittedImage,
  type ImageDraft,
} from './build.js';
export { settleTimes } from './created.js';
export { historyRows, inspectView, REPO_DIGEST_ANNOTATION } from './inspect.js';
export { imageSize, loadDescriptor, loadImage, notFound, parseImageName, parseTagName, type LoadedImage } from './load.js';

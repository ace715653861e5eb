import { createHash } from 'node:crypto';
import { lstat, mkdir, readFile, readdir, readlink } from 'node:fs/promises';
import { loadImage } from '../../src/image/index.js';
import { applyLayer } from '../../src/layer/index.js';
import type { Store } from '../../src/store/index.js';

/** One path of an image's file tree, as the peer comparisons see it (mtimes left out). */
export interface TreeNode {
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size?: number;
  link?: string;
  sha?: string;
}

/**
 * The image's layers applied in order by one applier into `out` (made here), then walked: the same
 * method for every side of a comparison. Keys are `/path` from the image's root.
 */
export async function imageTree(store: Store, name: string, out: string): Promise<Map<string, TreeNode>> {
  const img = await loadImage(store, name);
  await mkdir(out, { recursive: true });
  for (const l of img.manifest.layers) await applyLayer(store.openRead(l.digest, l.size), out, { form: 'plain' });
  const nodes = new Map<string, TreeNode>();
  const visit = async (p: string, rel: string) => {
    for (const n of (await readdir(p)).sort()) {
      const abs = `${p}/${n}`;
      const r = `${rel}/${n}`;
      const st = await lstat(abs);
      const type = st.isDirectory() ? 'dir' : st.isFile() ? 'file' : st.isSymbolicLink() ? 'symlink' : 'other';
      const node: TreeNode = { type, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
      if (type === 'file') {
        node.size = st.size;
        node.sha = createHash('sha256').update(await readFile(abs)).digest('hex');
      }
      if (type === 'symlink') node.link = await readlink(abs);
      nodes.set(r, node);
      if (type === 'dir') await visit(abs, r);
    }
  };
  await visit(out, '');
  return nodes;
}

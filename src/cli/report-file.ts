// `--report FILE.html` of build and bench: the path checked before any work, the page written after.
import { stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { renderReportHtml, type ReportPage } from '../api/index.js';
import { UserError } from '../util/index.js';

/** An error message when `path` cannot be a report file (its directory missing, or a directory itself). */
export async function reportPathProblem(flag: string, path: string): Promise<string | undefined> {
  const dir = dirname(path);
  const d = await stat(dir).catch(() => undefined);
  if (!d) return `${flag} ${path}: the directory ${dir} does not exist; create it or give a path in an existing directory`;
  if (!d.isDirectory()) return `${flag} ${path}: ${dir} is not a directory; give a path in a directory`;
  const f = await stat(path).catch(() => undefined);
  if (f?.isDirectory()) return `${flag} ${path}: is a directory; give a file name such as ${path.replace(/\/+$/, '')}/report.html`;
  return undefined;
}

export async function writeReport(flag: string, path: string, page: ReportPage): Promise<void> {
  try {
    await writeFile(path, renderReportHtml(page));
  } catch (e) {
    throw new UserError('cli.report-unwritable', `${flag} ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, 'give a writable file path');
  }
}

/**
 * "Export to pipeline": ask the server to export a notebook (by its path relative to
 * the server root, as JupyterLab names it) and say in words what was written.
 */
import { ApiError, postAPI } from './api';
import { button, h, notice, replaceChildren } from './dom';
import type { IExportResult } from './types';

/** Export the notebook at `path`; throws {@link ApiError} with the server's message. */
export function exportNotebook(path: string): Promise<IExportResult> {
  return postAPI<IExportResult>('export', { path });
}

/** One sentence for a notification: where the pipeline went and how to run it. */
export function exportSummary(result: IExportResult): string {
  const steps = result.steps.length === 1 ? '1 step' : `${result.steps.length} steps`;
  return (
    `Exported ${result.notebook} to ${result.output_dir}: ${steps} ` +
    `(${result.steps.join(', ')}). Run it with: ${result.command}`
  );
}

/**
 * A status box that runs one export and shows its progress and outcome in words:
 * "Exporting …", then what was written (with a button to open the pipeline's README),
 * or the server's message and hint.
 */
export async function runExport(
  path: string,
  into: HTMLElement,
  openPath: (path: string) => void
): Promise<IExportResult | null> {
  replaceChildren(into, notice('loading', `Exporting ${path} to a pipeline…`));
  try {
    const result = await exportNotebook(path);
    replaceChildren(into, exportReport(result, openPath));
    return result;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const hint = error instanceof ApiError ? error.hint : null;
    replaceChildren(into, notice('error', `Could not export ${path}: ${message}`, hint));
    return null;
  }
}

function exportReport(result: IExportResult, openPath: (path: string) => void): HTMLElement {
  const steps = result.steps.length === 1 ? 'one step' : `${result.steps.length} steps`;
  return h(
    'div',
    {
      className: 'jp-mlops-notice jp-mlops-notice-done jp-mlops-export-result',
      attrs: { role: 'status' }
    },
    h(
      'p',
      { className: 'jp-mlops-notice-text' },
      `Exported ${result.notebook} to ${result.output_dir}/ with ${steps}: ${result.steps.join(', ')}`,
      ` (targets: ${result.targets.join(', ')}).`
    ),
    h('p', { className: 'jp-mlops-notice-hint' }, 'Run it with ', h('code', null, result.command)),
    ...result.warnings.map(warning =>
      h('p', { className: 'jp-mlops-notice-hint' }, `Note: ${warning}`)
    ),
    result.files.includes('README.md')
      ? button('Open its README', () => openPath(`${result.output_dir}/README.md`), {
          className: 'jp-mlops-open-readme'
        })
      : null
  );
}

/**
 * A run's artifacts on its page: the list (name, kind, size, cell) and what can be shown
 * of each: images inline (fetched by hash through the API, so Jupyter's authentication
 * applies), a table's first rows, the start of a text.
 */
import { requestObjectUrl } from '../api';
import { h, section, table } from '../dom';
import { formatBytes, formatCount, formatScalar, MISSING } from '../format';
import type { IRunArtifact } from '../types';

/** An `<img>` whose bytes are fetched from the API; a failure leaves a note instead. */
function artifactImage(artifact: IRunArtifact): HTMLElement {
  const image = h('img', {
    className: 'jp-mlops-artifact-image',
    attrs: { alt: artifact.name, 'data-sha256': artifact.sha256 }
  });
  const frame = h('div', { className: 'jp-mlops-artifact-frame' }, image);
  requestObjectUrl(artifact.href).then(
    url => {
      image.addEventListener('load', () => URL.revokeObjectURL(url), { once: true });
      image.src = url;
    },
    () => frame.replaceChildren(h('p', { className: 'jp-mlops-note' }, 'Could not load it.'))
  );
  return frame;
}

function preview(artifact: IRunArtifact): HTMLElement | null {
  if (artifact.image) {
    return artifactImage(artifact);
  }
  const shown = artifact.preview;
  if (shown?.table) {
    const rows = shown.table.rows;
    return h(
      'div',
      null,
      table(
        shown.table.columns,
        rows.map(row => row.map(value => formatScalar(value))),
        { className: 'jp-mlops-artifact-table' }
      ),
      h(
        'p',
        { className: 'jp-mlops-note' },
        `First ${formatCount(rows.length)} of ${formatCount(shown.table.total_rows)} rows.`
      )
    );
  }
  if (shown?.text !== null && shown?.text !== undefined) {
    return h(
      'div',
      null,
      h('pre', { className: 'jp-mlops-artifact-text' }, shown.text),
      shown.truncated ? h('p', { className: 'jp-mlops-note' }, '(cut short)') : null
    );
  }
  return null;
}

/** The run's Artifacts section; null when the run has none. */
export function renderArtifacts(artifacts: IRunArtifact[] | undefined): HTMLElement | null {
  if (!artifacts || artifacts.length === 0) {
    return null;
  }
  const previews = artifacts
    .map(artifact => {
      const shown = preview(artifact);
      return shown
        ? h(
            'figure',
            { className: 'jp-mlops-artifact', attrs: { 'data-artifact': artifact.name } },
            h('figcaption', null, artifact.name),
            shown
          )
        : null;
    })
    .filter(node => node !== null);
  return section(
    `Artifacts (${artifacts.length})`,
    true,
    table(
      ['Name', 'Kind', 'Size', 'Cell'],
      artifacts.map(a => [
        a.name,
        a.kind,
        formatBytes(a.size),
        a.execution_count === null ? MISSING : `[${a.execution_count}]`
      ]),
      { className: 'jp-mlops-artifacts-table' }
    ),
    previews.length ? h('div', { className: 'jp-mlops-artifacts' }, ...previews) : null
  );
}

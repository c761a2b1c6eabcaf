/**
 * The Snapshots section: every data snapshot the registry holds.
 */
import { h, rankedTable } from '../dom';
import { formatCount, formatTime, shortId } from '../format';
import type { ISnapshots } from '../types';
import { ISectionHost, requestOptional, Section } from './section';

export class SnapshotsSection extends Section {
  constructor(host: ISectionHost) {
    super('snapshots', 'Snapshots', host);
    this.node.classList.add('jp-mlops-adaptive');
  }

  protected async render(): Promise<Node> {
    const answer = await requestOptional<ISnapshots>('snapshots');
    if (answer === null || answer.snapshots.length === 0) {
      return this.empty({
        text: 'No snapshots recorded yet',
        hint: 'Fingerprint a DataFrame from a notebook: %mlops snapshot DF --name NAME.'
      });
    }
    const shown = answer.snapshots.length;
    const total = answer.total ?? shown;
    return h(
      'div',
      null,
      rankedTable(
        [
          ['Name', 0],
          ['Rows', 0],
          ['Columns', 1],
          ['Runs', 2],
          ['Fingerprint', 3],
          ['Created', 4],
          ['Kind', 5]
        ],
        answer.snapshots.map(s => [
          s.name,
          formatCount(s.n_rows),
          formatCount(s.n_columns),
          s.runs === undefined ? '' : formatCount(s.runs),
          h('code', { title: s.fingerprint }, shortId(s.fingerprint, 12)),
          formatTime(s.created_at),
          s.materialized ? `${s.kind}, stored` : s.kind
        ]),
        'jp-mlops-snapshots'
      ),
      total > shown
        ? h(
            'p',
            { className: 'jp-mlops-note' },
            `The newest ${shown} of ${formatCount(total)} snapshots.`
          )
        : null
    );
  }
}

/**
 * The Snapshots section: every data snapshot the registry holds.
 */
import { h, table } from '../dom';
import { formatCount, formatTime, shortId } from '../format';
import type { ISnapshots } from '../types';
import { ISectionHost, requestOptional, Section } from './section';

export class SnapshotsSection extends Section {
  constructor(host: ISectionHost) {
    super('snapshots', 'Snapshots', host);
  }

  protected async render(): Promise<Node> {
    const answer = await requestOptional<ISnapshots>('snapshots');
    if (answer === null || answer.snapshots.length === 0) {
      return this.empty({
        text: 'No snapshots recorded yet',
        hint: 'Fingerprint a DataFrame from a notebook: %mlops snapshot DF --name NAME.'
      });
    }
    return table(
      ['Name', 'Kind', 'Fingerprint', 'Rows', 'Columns', 'Created'],
      answer.snapshots.map(s => [
        s.name,
        s.kind,
        h('code', { title: s.fingerprint }, shortId(s.fingerprint, 12)),
        formatCount(s.n_rows),
        formatCount(s.n_columns),
        formatTime(s.created_at)
      ]),
      { className: 'jp-mlops-snapshots' }
    );
  }
}

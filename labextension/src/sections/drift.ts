/**
 * The Drift section: each drift report's overall decision and its per-column
 * verdicts, newest report open.
 */
import { badge, h, section, table } from '../dom';
import { formatNumber, formatTime } from '../format';
import type { IDriftReport, IDriftReports } from '../types';
import { ISectionHost, requestOptional, Section } from './section';

export class DriftSection extends Section {
  /** Reports the user opened or closed keep that state across reloads. */
  private readonly openState = new Map<string, boolean>();

  constructor(host: ISectionHost) {
    super('drift', 'Drift', host);
  }

  protected async render(): Promise<Node> {
    const answer = await requestOptional<IDriftReports>('drift');
    if (answer === null || answer.reports.length === 0) {
      return this.empty({
        text: 'No drift reports recorded yet',
        hint: 'Reports appear here when a notebook or a pipeline checks data against a reference snapshot.'
      });
    }
    return h(
      'div',
      null,
      ...answer.reports.map((report, index) => this.renderReport(report, index === 0))
    );
  }

  private renderReport(report: IDriftReport, newest: boolean): HTMLElement {
    const title = h(
      'span',
      { className: 'jp-mlops-report-title' },
      badge(report.decision),
      ` ${report.reference} → ${report.current} · ${formatTime(report.created_at)}`
    );
    const details = section(
      title,
      this.openState.get(report.id) ?? newest,
      table(
        ['Column', 'Verdict', 'Test', 'Statistic', 'Adjusted p', 'Effect'],
        report.columns.map(c => [
          c.column,
          badge(c.verdict),
          c.test,
          formatNumber(c.statistic),
          formatNumber(c.p_adjusted),
          formatNumber(c.effect)
        ]),
        { className: 'jp-mlops-drift-columns' }
      )
    );
    details.classList.add('jp-mlops-drift-report');
    details.setAttribute('data-report-id', report.id);
    details.addEventListener('toggle', () => this.openState.set(report.id, details.open));
    return details;
  }
}

/**
 * The Drift section: each drift report's overall decision and its per-column
 * decisions, newest report open; an open report draws its columns' effects against the
 * threshold and one chart per column (reference and current distributions), like the
 * notebook's drift view.
 */
import { badge, h, notice, section, table } from '../dom';
import { distributionChart, drawable, effectChart } from '../drift_chart';
import { formatNumber, formatTime } from '../format';
import type { IDriftColumn, IDriftReport, IDriftReports } from '../types';
import { ISectionHost, requestOptional, Section } from './section';

export class DriftSection extends Section {
  /** Reports the user opened or closed keep that state across reloads. */
  private readonly openState = new Map<string, boolean>();
  /** The report another view asked to show (see reveal), scrolled to once drawn. */
  private revealed: string | null = null;

  constructor(host: ISectionHost) {
    super('drift', 'Drift', host);
  }

  /**
   * Open the report `reportId` on the next load and bring it into view (the Monitoring
   * view links each window's reports here); the next load is due at once.
   */
  reveal(reportId: string): void {
    this.openState.set(reportId, true);
    this.revealed = reportId;
    this.stale = true;
  }

  protected onShown(content: Node): void {
    const wanted = this.revealed;
    this.revealed = null;
    if (wanted === null || !(content instanceof HTMLElement)) {
      return;
    }
    const found = Array.from(content.querySelectorAll<HTMLElement>('[data-report-id]')).find(
      node => node.dataset.reportId === wanted
    );
    if (found) {
      found.scrollIntoView({ block: 'start' });
      found.querySelector('summary')?.focus();
    } else {
      content.prepend(
        notice(
          'empty',
          `Drift report ${wanted} is not among the newest reports listed here`,
          'Read it in a notebook: mlops.drift_history(model=NAME, limit=500) lists older reports.'
        )
      );
    }
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
    const charts = h('div', { className: 'jp-mlops-drift-figures' });
    const details = section(
      title,
      this.openState.get(report.id) ?? newest,
      table(
        ['Column', 'Decision', 'Test', 'Statistic', 'Adjusted p', 'Effect'],
        report.columns.map(c => [
          c.column,
          decisionBadge(c),
          c.test,
          formatNumber(c.statistic),
          formatNumber(c.p_adjusted),
          formatNumber(c.effect)
        ]),
        { className: 'jp-mlops-drift-columns' }
      ),
      charts
    );
    details.classList.add('jp-mlops-drift-report');
    details.setAttribute('data-report-id', report.id);
    const draw = (): void => {
      if (details.open && !charts.hasChildNodes()) {
        drawCharts(charts, report); // drawn once, when first shown
      }
    };
    details.addEventListener('toggle', () => {
      this.openState.set(report.id, details.open);
      draw();
    });
    draw();
    return details;
  }
}

/** A column's decision as a badge (monitor, review, retrain), its verdict in the tooltip. */
function decisionBadge(column: IDriftColumn): HTMLElement {
  const element = badge(column.decision ?? column.verdict);
  element.title = [column.verdict, column.reason].filter(Boolean).join(': ');
  return element;
}

function drawCharts(into: HTMLElement, report: IDriftReport): void {
  const charted = report.columns.some(c => c.chart !== undefined);
  if (!charted) {
    return; // a report older than the ten newest: its figures are in the table
  }
  into.appendChild(
    h(
      'figure',
      { className: 'jp-mlops-figure jp-mlops-drift-effect-figure' },
      effectChart(report.columns, report.effect_threshold ?? null),
      h(
        'figcaption',
        null,
        'Effect of each column; a column drifts when its effect reaches the threshold and ' +
          'its change is significant.'
      )
    )
  );
  into.appendChild(
    h(
      'div',
      { className: 'jp-mlops-drift-charts' },
      ...report.columns.map(column =>
        h(
          'figure',
          {
            className: 'jp-mlops-figure jp-mlops-drift-column-chart',
            attrs: { 'data-column': column.column }
          },
          h('figcaption', null, h('b', null, column.column), ' ', decisionBadge(column)),
          drawable(column.chart)
            ? distributionChart(column.column, column.chart)
            : h('p', { className: 'jp-mlops-note' }, `No chart: ${column.reason || column.verdict}`)
        )
      )
    )
  );
}

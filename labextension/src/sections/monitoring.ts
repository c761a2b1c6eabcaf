/**
 * A served model's Monitoring view, inside its card in the Models section: its monitor
 * windows over time, as `GET models/NAME/monitoring` sends them.
 *
 * - a strip of windows, oldest on the left, each cell coloured by the window's decision
 *   (grey: not tested), its tooltip the window's line as the terminal prints it;
 * - latency p50/p99 and the live metrics of each version per window (chart.ts);
 * - the windows newest first, with the columns a retrain or a review names, the fairness
 *   rules broken, the champion-challenger verdict and the window's drift reports;
 * - "Run monitor now" with a window length (`POST models/NAME/monitoring`).
 *
 * Like the notebook's view (widgets/monitoring.py), it draws what the server laid out:
 * the decisions, lines and series come from the registry, never from TypeScript.
 */
import { ApiError, postAPI, requestAPI } from '../api';
import { lineChart } from '../chart';
import { badge, button, Child, h, notice, replaceChildren, stateToken, table } from '../dom';
import { formatCount, formatNumber, MISSING } from '../format';
import type { IMonitoring, IMonitorLength, IMonitorWindow } from '../types';
import { errorNotice } from './section';

/** What the view asks of the panel. */
export interface IMonitoringHost {
  /** Ask the registry for changes now (after the monitor stored windows). */
  refresh(): void;
  /** Show a drift report in the Drift section. */
  showDriftReport(reportId: string): void;
}

export class MonitoringView {
  /** The whole view; the Models section moves it into each redraw of the model's card. */
  readonly node: HTMLElement;
  private readonly content: HTMLElement;
  private readonly runLength: HTMLSelectElement;
  private readonly runButton: HTMLButtonElement;
  private readonly runStatus: HTMLElement;
  /** The length the user chose to look at; the first stored one until then. */
  private shownLength: string | null = null;
  private ticket = 0;
  private loaded = false;

  constructor(
    readonly model: string,
    private readonly host: IMonitoringHost
  ) {
    this.runLength = h('select', {
      className: 'jp-mlops-monitor-run-length',
      attrs: { 'aria-label': 'Window length of the monitor' }
    });
    this.runButton = button('Run monitor now', () => void this.run(), {
      className: 'jp-mlops-monitor-run',
      title: `Judge and store ${model}'s served traffic window by window now`
    });
    this.runStatus = h('div', {
      className: 'jp-mlops-monitor-run-status',
      attrs: { role: 'status', 'aria-live': 'polite' }
    });
    this.content = h('div', { className: 'jp-mlops-monitor-content' });
    this.node = h(
      'div',
      { className: 'jp-mlops-monitoring', attrs: { 'data-model': model } },
      h(
        'div',
        { className: 'jp-mlops-monitor-controls' },
        this.runButton,
        h('label', { className: 'jp-mlops-flat-label' }, 'windows of ', this.runLength)
      ),
      this.runStatus,
      this.content
    );
  }

  /** Fetch and draw; the old drawing stays until the new one is ready, the latest load wins. */
  async load(): Promise<void> {
    const ticket = ++this.ticket;
    if (!this.loaded) {
      replaceChildren(this.content, notice('loading', 'Loading the monitor windows…'));
    }
    this.node.setAttribute('aria-busy', 'true');
    let drawn: Node;
    try {
      const answer = await requestAPI<IMonitoring>(
        `models/${encodeURIComponent(this.model)}/monitoring`
      );
      if (ticket !== this.ticket) {
        return;
      }
      drawn = this.render(answer);
    } catch (error) {
      drawn = errorNotice(error, 'the monitor windows');
    }
    if (ticket !== this.ticket) {
      return; // a newer load (or a run) is on its way
    }
    this.node.removeAttribute('aria-busy');
    this.loaded = true;
    replaceChildren(this.content, drawn);
  }

  /** "Run monitor now": POST the chosen length, draw the answer, say what was done. */
  private async run(): Promise<void> {
    const window = this.runLength.value || '1h';
    const ticket = ++this.ticket;
    this.runButton.disabled = true;
    replaceChildren(this.runStatus, `Running the monitor on windows of ${window}…`);
    try {
      const answer = await postAPI<IMonitoring>(
        `models/${encodeURIComponent(this.model)}/monitoring`,
        { window }
      );
      this.shownLength = answer.run?.window ?? window;
      replaceChildren(
        this.runStatus,
        h('p', { className: 'jp-mlops-monitor-run-message' }, answer.run?.message ?? ''),
        ...(answer.run?.notes ?? []).map(line => h('p', { className: 'jp-mlops-note' }, line))
      );
      if (ticket === this.ticket) {
        this.loaded = true;
        replaceChildren(this.content, this.render(answer));
      }
      this.host.refresh(); // windows and drift reports were stored: other views redraw
    } catch (error) {
      replaceChildren(
        this.runStatus,
        error instanceof ApiError
          ? notice('error', `The monitor did not run: ${error.message}`, error.hint)
          : notice('error', `The monitor did not run: ${String(error)}`)
      );
    } finally {
      this.runButton.disabled = false;
    }
  }

  private render(answer: IMonitoring): Node {
    this.offerLengths(answer.choices, answer.lengths);
    if (answer.lengths.length === 0) {
      return notice(
        'empty',
        `No monitor windows stored for ${answer.model} yet`,
        'Run the monitor now, or jupyter mlops monitor NAME in a terminal, once the model ' +
          'is served (jupyter mlops serve NAME@ALIAS) and has answered requests.'
      );
    }
    const chosen =
      answer.lengths.find(length => length.window === this.shownLength) ?? answer.lengths[0];
    return h(
      'div',
      { attrs: { 'data-window': chosen.window } },
      h(
        'p',
        { className: 'jp-mlops-monitor-decision' },
        'Newest tested window: ',
        answer.decision ? badge(answer.decision) : 'nothing tested yet',
        answer.decided_by ? ` (${answer.decided_by})` : null
      ),
      answer.lengths.length > 1 ? this.lengthPicker(answer, chosen) : null,
      renderLength(chosen, this.host)
    );
  }

  /** Buttons to switch between the stored lengths (hours, days...). */
  private lengthPicker(answer: IMonitoring, chosen: IMonitorLength): HTMLElement {
    return h(
      'div',
      { className: 'jp-mlops-monitor-lengths', attrs: { role: 'group', 'aria-label': 'Length' } },
      ...answer.lengths.map(length => {
        const pick = button(
          `${length.window} (${length.total})`,
          () => {
            this.shownLength = length.window;
            replaceChildren(this.content, this.render(answer));
          },
          { className: 'jp-mlops-monitor-length', title: `Windows of ${length.window}` }
        );
        pick.setAttribute('aria-pressed', String(length === chosen));
        return pick;
      })
    );
  }

  /** The run's length choices: the server's, the stored lengths too, the shown one chosen. */
  private offerLengths(choices: string[], lengths: IMonitorLength[]): void {
    const offered = [...choices];
    for (const length of lengths) {
      if (!offered.includes(length.window)) {
        offered.push(length.window);
      }
    }
    const selected = this.runLength.value || this.shownLength || lengths[0]?.window || '1h';
    replaceChildren(
      this.runLength,
      ...offered.map(choice => h('option', { attrs: { value: choice } }, choice))
    );
    this.runLength.value = offered.includes(selected) ? selected : offered[0];
  }
}

function renderLength(length: IMonitorLength, host: IMonitoringHost): HTMLElement {
  const charts: Child[] = [
    h(
      'figure',
      { className: 'jp-mlops-figure jp-mlops-monitor-latency' },
      lineChart(length.latency, {
        title: 'latency (ms)',
        xLabel: length.x_label,
        xName: length.x_name
      })
    )
  ];
  if (length.metrics.length > 0) {
    charts.push(
      h(
        'figure',
        { className: 'jp-mlops-figure jp-mlops-monitor-metrics' },
        lineChart(length.metrics, {
          title: 'live metrics (labelled rows)',
          xLabel: length.x_label,
          xName: length.x_name
        })
      )
    );
  }
  return h(
    'div',
    { className: 'jp-mlops-monitor-length-view' },
    strip(length.windows),
    length.shown < length.total
      ? h(
          'p',
          { className: 'jp-mlops-note' },
          `The newest ${formatCount(length.shown)} of ${formatCount(length.total)} windows of ${length.window}.`
        )
      : null,
    h('div', { className: 'jp-mlops-charts' }, ...charts),
    h('div', { className: 'jp-mlops-monitor-table-scroll' }, windowsTable(length.windows, host))
  );
}

/** One cell per window, oldest on the left (the windows come newest first). */
function strip(windows: IMonitorWindow[]): HTMLElement {
  return h(
    'div',
    {
      className: 'jp-mlops-monitor-strip',
      attrs: { role: 'list', 'aria-label': 'Decision of each window, oldest first' }
    },
    ...[...windows].reverse().map(window =>
      h('span', {
        className: 'jp-mlops-monitor-window',
        title: window.line,
        attrs: {
          role: 'listitem',
          'aria-label': window.line,
          'data-decision': window.decision ?? 'untested',
          'data-state': stateToken(window.decision ?? 'not tested')
        }
      })
    )
  );
}

function windowsTable(windows: IMonitorWindow[], host: IMonitoringHost): HTMLTableElement {
  return table(
    [
      'Window (UTC)',
      'Rows',
      'Labelled',
      'Version',
      'Decision',
      'Retrain for',
      'Review',
      'Unfair',
      'Latency p50 / p99 ms',
      'Live metrics',
      'Challenger',
      'Drift reports'
    ],
    windows.map(window => [
      window.start_text,
      formatCount(window.n_predictions),
      formatCount(window.n_labelled),
      window.version ? `v${window.version}` : MISSING,
      window.decision
        ? badge(window.decision)
        : h('span', { className: 'jp-mlops-note', title: window.note }, 'not tested'),
      window.retrain_columns.join(', ') || MISSING,
      window.review_columns.join(', ') || MISSING,
      window.fairness_failed.join('; ') || MISSING,
      window.latency_p50_ms === null
        ? MISSING
        : `${formatNumber(window.latency_p50_ms)} / ${formatNumber(window.latency_p99_ms)}`,
      metricsText(window.metrics),
      window.verdict ?? MISSING,
      reportLinks(window, host)
    ]),
    { className: 'jp-mlops-monitor-windows' }
  );
}

function metricsText(metrics: IMonitorWindow['metrics']): string {
  const parts = Object.entries(metrics).map(
    ([version, values]) =>
      `v${version}: ` +
      Object.entries(values)
        .map(([name, value]) => `${name} ${formatNumber(value)}`)
        .join(', ')
  );
  return parts.join('; ') || MISSING;
}

function reportLinks(window: IMonitorWindow, host: IMonitoringHost): Child {
  const links = [
    ['inputs', window.input_report_id],
    ['predictions', window.prediction_report_id]
  ]
    .filter((pair): pair is [string, string] => Boolean(pair[1]))
    .map(([what, id]) =>
      button(what, () => host.showDriftReport(id), {
        className: 'jp-mlops-link jp-mlops-monitor-report',
        title: `Open the drift report of this window's ${what} in the Drift section`,
        attrs: { 'data-report-id': id }
      })
    );
  return links.length ? h('span', null, ...links) : MISSING;
}

/**
 * The Sweep section of a parent run's page: its children as parallel coordinates
 * against a metric (picker), one parameter (picker) against that metric, and the best
 * child, drawn from `GET api/runs/ID/sweep` (the server picks the metric, its
 * direction, the axes and the best child; the panel draws them).
 */
import { ApiError, requestAPI } from '../api';
import { button, h, notice, replaceChildren, section, table } from '../dom';
import { formatCount, formatNumber, formatScalar, shortId } from '../format';
import { paramScatter, parallelCoordinates } from '../sweep_chart';
import type { ISweep } from '../types';

/** What the user picked; kept by the run's tab across redraws. */
export interface ISweepChoice {
  /** The metric to draw against; null for the server's choice. */
  metric: string | null;
  /** The parameter of the scatter; null for the first axis. */
  param: string | null;
  /** Whether the highest value is best; null for what the metric's name says. */
  maximize: boolean | null;
}

/** A sweep as loaded: its data, or the error that stood in the way. */
export interface ISweepLoad {
  sweep: ISweep | null;
  error: unknown;
}

/**
 * Load the sweep of `runId` against the chosen metric, best highest or lowest as chosen.
 * A metric no child has any more falls back to the server's choice (and the choice
 * forgets it).
 */
export async function loadSweep(runId: string, choice: ISweepChoice): Promise<ISweepLoad> {
  const endpoint = `runs/${encodeURIComponent(runId)}/sweep`;
  try {
    const query = {
      metric: choice.metric,
      maximize: choice.maximize === null ? null : String(choice.maximize)
    };
    return { sweep: await requestAPI<ISweep>(endpoint, query), error: null };
  } catch (error) {
    if (choice.metric !== null && error instanceof ApiError && error.isNotFound) {
      choice.metric = null;
      choice.maximize = null;
      return loadSweep(runId, choice);
    }
    return { sweep: null, error };
  }
}

function picker(
  label: string,
  className: string,
  options: string[],
  value: string,
  onChange: (value: string) => void
): HTMLElement {
  const select = h(
    'select',
    {
      className,
      attrs: { 'aria-label': label },
      on: { change: () => onChange(select.value) }
    },
    ...options.map(option => h('option', { attrs: { value: option } }, option))
  );
  select.value = value;
  return h('label', { className: 'jp-mlops-sweep-picker' }, `${label} `, select);
}

/**
 * The Sweep section. `choose` is called with the new choice when a picker changes (the
 * caller loads the sweep again for a new metric); `open` opens a child's page.
 */
export function renderSweep(
  loaded: ISweepLoad,
  choice: ISweepChoice,
  choose: (choice: ISweepChoice) => void,
  open: (runId: string) => void
): HTMLElement {
  const sweep = loaded.sweep;
  if (sweep === null) {
    const error = loaded.error;
    return sweepSection(
      'Sweep',
      notice(
        'error',
        `Could not draw the sweep: ${error instanceof Error ? error.message : String(error)}`,
        error instanceof ApiError ? error.hint : null
      )
    );
  }
  const title = `Sweep (${formatCount(sweep.children.length)} child runs)`;
  if (sweep.metric === null) {
    return sweepSection(
      title,
      notice(
        'empty',
        'No child run logged a metric to draw the sweep against.',
        'Log one in each child (run.log(score=...)); the sweep draws their parameters against it.'
      )
    );
  }
  const keys = sweep.axes.map(axis => axis.key);
  const param = choice.param !== null && keys.includes(choice.param) ? choice.param : keys[0];
  const controls = h(
    'div',
    { className: 'jp-mlops-sweep-controls' },
    // A new metric comes with the direction its name says; the user may turn it round.
    picker('Metric', 'jp-mlops-sweep-metric', sweep.metrics, sweep.metric, metric =>
      choose({ ...choice, metric, maximize: null })
    ),
    picker(
      'Best',
      'jp-mlops-sweep-direction',
      ['highest', 'lowest'],
      sweep.maximize ? 'highest' : 'lowest',
      best => choose({ ...choice, maximize: best === 'highest' })
    ),
    h(
      'span',
      { className: 'jp-mlops-note' },
      `${sweep.maximize ? 'higher' : 'lower'} is better; best in red`
    )
  );
  const scatterFigure = h('figure', { className: 'jp-mlops-figure jp-mlops-sweep-scatter-figure' });
  const drawScatter = (key: string | undefined) => {
    replaceChildren(scatterFigure, key === undefined ? null : paramScatter(sweep, key, open));
  };
  drawScatter(param);
  const paramPicker =
    keys.length && param !== undefined
      ? picker('Parameter', 'jp-mlops-sweep-param', keys, param, key => {
          choice.param = key; // kept for the next redraw; no new data needed
          drawScatter(key);
        })
      : null;
  return sweepSection(
    title,
    controls,
    h(
      'figure',
      { className: 'jp-mlops-figure jp-mlops-sweep-parallel-figure' },
      parallelCoordinates(sweep, open)
    ),
    paramPicker,
    scatterFigure,
    renderBest(sweep, open)
  );
}

function sweepSection(title: string, ...children: (Node | null)[]): HTMLElement {
  const details = section(title, true, ...children);
  details.classList.add('jp-mlops-sweep');
  return details;
}

/** A line on the best child, a link to its page, and its parameters. */
function renderBest(sweep: ISweep, open: (runId: string) => void): HTMLElement {
  const best = sweep.children.find(child => child.id === sweep.best);
  if (best === undefined) {
    return h('p', { className: 'jp-mlops-note' }, `No child logged ${sweep.metric}.`);
  }
  const direction = sweep.maximize ? 'highest' : 'lowest';
  return h(
    'div',
    { className: 'jp-mlops-sweep-best-child', attrs: { 'data-run-id': best.id } },
    h(
      'p',
      null,
      `Best of ${formatCount(sweep.children.length)} by ${direction} ${sweep.metric}: `,
      button(best.name || shortId(best.id), () => open(best.id), {
        className: 'jp-mlops-link',
        title: `Show run ${best.id}`
      }),
      ` ${formatNumber(best.value)}`,
      best.marked_best ? ' (marked best by the search)' : ''
    ),
    table(
      ['Parameter', 'Value'],
      Object.entries(best.params).map(([key, value]) => [key, formatScalar(value)]),
      { className: 'jp-mlops-sweep-best-params' }
    )
  );
}

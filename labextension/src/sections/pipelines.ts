/**
 * The Pipelines section: pipeline runs and the status of each of their steps.
 */
import { badge, h, rankedTable, replaceChildren, stateToken } from '../dom';
import { formatDuration, formatTime, shortId } from '../format';
import { stepGraph } from '../step_graph';
import type { IPipelineRun, IPipelineRuns } from '../types';
import { ISectionHost, requestOptional, Section } from './section';

function stepChips(run: IPipelineRun): HTMLElement {
  return h(
    'div',
    { className: 'jp-mlops-steps' },
    ...run.steps.map(step =>
      h(
        'span',
        {
          className: 'jp-mlops-chip jp-mlops-step',
          title: `${step.name}: ${step.status}${step.cached ? ' (cached)' : ''}, ${formatDuration(step.duration)}`,
          attrs: { 'data-state': stateToken(step.status) }
        },
        badge(step.status, step.name),
        step.cached ? h('span', { className: 'jp-mlops-cached' }, ' cached') : null
      )
    )
  );
}

export class PipelinesSection extends Section {
  constructor(host: ISectionHost) {
    super('pipelines', 'Pipelines', host);
    this.node.classList.add('jp-mlops-adaptive');
  }

  protected async render(): Promise<Node> {
    const answer = await requestOptional<IPipelineRuns>('pipelines');
    if (answer === null || answer.runs.length === 0) {
      return this.empty({
        text: 'No pipeline runs recorded yet',
        hint: 'Export a notebook with jupyter mlops export NOTEBOOK -o DIR, then run jupyter mlops pipeline run DIR.'
      });
    }
    const figure = h('figure', { className: 'jp-mlops-step-figure' });
    let shown = answer.runs[0];
    let drawnWidth = 0;
    const draw = (): void => {
      drawnWidth = figure.clientWidth;
      replaceChildren(
        figure,
        stepGraph(shown.steps, shown.edges ?? [], drawnWidth || Infinity),
        h(
          'figcaption',
          null,
          `Steps of ${shown.pipeline}, run ${shortId(shown.id)} (${shown.status})`
        )
      );
    };
    const show = (run: IPipelineRun): void => {
      shown = run;
      draw();
    };
    // Drawn again when the sidebar's width changes: across when it fits, else downwards.
    new ResizeObserver(() => {
      if (figure.clientWidth > 0 && Math.abs(figure.clientWidth - drawnWidth) > 4) {
        draw();
      }
    }).observe(figure);
    const runs = rankedTable(
      [
        ['Pipeline', 0],
        ['Status', 0],
        ['Run', 3],
        ['Started', 2],
        ['Duration', 1],
        ['Steps', 4]
      ],
      answer.runs.map(run => [
        run.pipeline,
        badge(run.status),
        h('code', { title: run.id }, shortId(run.id)),
        formatTime(run.started_at),
        formatDuration(run.duration),
        stepChips(run)
      ]),
      'jp-mlops-pipelines'
    );
    runs.querySelectorAll('tbody tr').forEach((row, index) => {
      const run = answer.runs[index];
      row.classList.add('jp-mlops-clickable');
      row.setAttribute('tabindex', '0');
      row.setAttribute('title', 'Show the steps of this run');
      row.addEventListener('click', () => show(run));
      row.addEventListener('keydown', event => {
        if ((event as KeyboardEvent).key === 'Enter') {
          show(run);
        }
      });
    });
    show(answer.runs[0]);
    return h('div', null, figure, runs);
  }
}

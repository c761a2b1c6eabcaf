/**
 * The Models section: each registered model, its aliases and versions with the
 * verdict of the latest gate evaluation that concerns each (the server decides
 * which), and the list of gate evaluations.
 */
import { badge, button, Child, h, notice, rankedTable, section } from '../dom';
import { formatNumber, formatScalar, formatTime, MISSING, shortId } from '../format';
import type { IGateEvaluation, IGates, IModel, IModels, IModelVersion } from '../types';
import { renderEvaluation } from './run_detail';
import { MonitoringView } from './monitoring';
import { ISectionHost, requestOptional, Section } from './section';

/** A verdict badge whose tooltip lists every rule with its actual and expected values. */
function verdictBadge(evaluation: IGateEvaluation): HTMLElement {
  const node = badge(evaluation.passed ? 'passed' : 'failed');
  node.title = [
    `${evaluation.purpose ?? 'check'} ${formatTime(evaluation.evaluated_at)}`,
    ...evaluation.rules.map(
      r =>
        `${r.passed ? '✓' : '✗'} ${r.rule} (actual ${formatScalar(r.actual)}, expected ${formatScalar(r.expected)})`
    )
  ].join('\n');
  return node;
}

function metricsText(metrics: IModelVersion['metrics']): string {
  const entries = Object.entries(metrics);
  if (entries.length === 0) {
    return MISSING;
  }
  return entries
    .map(
      ([key, value]) =>
        `${key}=${typeof value === 'number' ? formatNumber(value) : formatScalar(value)}`
    )
    .join(', ');
}

export class ModelsSection extends Section {
  /** Each model's Monitoring view, kept across reloads so a redraw does not flicker. */
  private readonly monitoring = new Map<string, MonitoringView>();
  /** The models whose Monitoring view the user opened. */
  private readonly monitoringOpen = new Set<string>();

  constructor(host: ISectionHost) {
    super('models', 'Models', host);
    this.node.classList.add('jp-mlops-adaptive');
  }

  protected async render(): Promise<Node> {
    const [models, gates] = await Promise.all([
      requestOptional<IModels>('models'),
      requestOptional<IGates>('gates')
    ]);
    if (models === null || models.models.length === 0) {
      return this.empty({
        text: 'No models recorded yet',
        hint: 'Register a fitted model from a notebook: %mlops register MODEL --name NAME.'
      });
    }
    const evaluations = gates?.evaluations ?? [];
    return h(
      'div',
      null,
      ...models.models.map(model => this.renderModel(model)),
      gates === null
        ? null
        : section(
            `Gate evaluations (${evaluations.length})`,
            false,
            evaluations.length === 0
              ? notice('empty', 'No gate evaluated yet')
              : h('div', null, ...evaluations.map(e => renderEvaluation(e, this.runLink(e.run_id))))
          )
    );
  }

  private runLink(runId: string | null | undefined, label?: string | null): Child {
    if (!runId) {
      return MISSING;
    }
    return button(label || shortId(runId), () => this.host.openRun(runId), {
      className: 'jp-mlops-link',
      title: `Open run ${runId}`
    });
  }

  /**
   * The model's Monitoring view, folded until opened; once open it reloads with every
   * reload of the section, so it follows the registry like the rest of the panel.
   */
  private monitoringSection(model: string): HTMLDetailsElement {
    let view = this.monitoring.get(model);
    if (view === undefined) {
      view = new MonitoringView(model, this.host);
      this.monitoring.set(model, view);
    }
    const shown = view;
    const details = section('Monitoring', this.monitoringOpen.has(model), shown.node);
    details.classList.add('jp-mlops-monitoring-section');
    details.addEventListener('toggle', () => {
      if (details.open === this.monitoringOpen.has(model)) {
        return; // drawn open: loaded below, not twice
      }
      if (details.open) {
        this.monitoringOpen.add(model);
        void shown.load();
      } else {
        this.monitoringOpen.delete(model);
      }
    });
    if (details.open) {
      void shown.load();
    }
    return details;
  }

  private renderModel(model: IModel): HTMLElement {
    const aliasChips = Object.entries(model.aliases).map(([alias, version]) =>
      h(
        'span',
        {
          className: 'jp-mlops-chip jp-mlops-alias',
          title: `${alias} points at version ${version}`
        },
        `${alias} → v${version}`
      )
    );
    return h(
      'div',
      { className: 'jp-mlops-card jp-mlops-model', attrs: { 'data-model': model.name } },
      h('h3', null, model.name),
      aliasChips.length
        ? h('div', { className: 'jp-mlops-chips' }, ...aliasChips)
        : h('p', { className: 'jp-mlops-note' }, 'No aliases.'),
      rankedTable(
        [
          ['Version', 0],
          ['Aliases', 0],
          ['Gates', 0],
          ['Run', 2],
          ['Metrics', 3],
          ['Created', 4],
          ['Flavor', 5]
        ],
        model.versions.map(version => [
          // The version opens the run that trained it, whether or not the Run column fits.
          version.run_id
            ? button(`v${version.version}`, () => this.host.openRun(version.run_id as string), {
                className: 'jp-mlops-link jp-mlops-version-link',
                title: `Open the run that trained v${version.version}`
              })
            : `v${version.version}`,
          (version.aliases ?? []).join(', ') || MISSING,
          version.gate ? verdictBadge(version.gate) : MISSING,
          this.runLink(version.run_id, version.run_name),
          metricsText(version.metrics),
          formatTime(version.created_at),
          version.flavor
        ]),
        'jp-mlops-versions-table'
      ),
      this.monitoringSection(model.name)
    );
  }
}

/**
 * The Models section: each registered model, its versions and aliases, and the
 * verdicts of the gates evaluated on them.
 */
import { badge, button, Child, h, notice, section, table } from '../dom';
import { formatNumber, formatScalar, formatTime, MISSING, parseTime, shortId } from '../format';
import type { IGateEvaluation, IGates, IModel, IModels, IModelVersion } from '../types';
import { ISectionHost, requestOptional, Section } from './section';

function verdictLabel(passed: boolean): string {
  return passed ? 'passed' : 'failed';
}

/** A verdict badge whose tooltip lists every rule with its actual and expected values. */
function verdictBadge(evaluation: IGateEvaluation): HTMLElement {
  const node = badge(verdictLabel(evaluation.passed));
  node.title = evaluation.rules
    .map(
      r =>
        `${r.passed ? '✓' : '✗'} ${r.rule} (actual ${formatScalar(r.actual)}, expected ${formatScalar(r.expected)})`
    )
    .join('\n');
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
  constructor(host: ISectionHost) {
    super('models', 'Models', host);
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
      ...models.models.map(model => this.renderModel(model, evaluations)),
      gates === null
        ? null
        : section(
            `Gate evaluations (${evaluations.length})`,
            false,
            evaluations.length === 0
              ? notice('empty', 'No gate evaluated yet')
              : h('div', null, ...evaluations.map(e => this.renderEvaluation(e)))
          )
    );
  }

  private runLink(runId: string | null): Child {
    if (!runId) {
      return MISSING;
    }
    return button(shortId(runId), () => this.host.showRun(runId), {
      className: 'jp-mlops-link',
      title: `Show run ${runId}`
    });
  }

  private renderModel(model: IModel, evaluations: IGateEvaluation[]): HTMLElement {
    const aliasesOf = new Map<string, string[]>();
    for (const [alias, version] of Object.entries(model.aliases)) {
      const key = String(version);
      aliasesOf.set(key, [...(aliasesOf.get(key) ?? []), alias]);
    }
    // The latest evaluation of this model on the run that produced each version.
    const evaluatedAt = (e: IGateEvaluation) => parseTime(e.evaluated_at)?.getTime() ?? 0;
    const verdictOf = (version: IModelVersion): Child => {
      const latest = evaluations
        .filter(e => e.model === model.name && e.run_id === version.run_id)
        .reduce<IGateEvaluation | null>(
          (best, e) => (best === null || evaluatedAt(e) >= evaluatedAt(best) ? e : best),
          null
        );
      return latest ? verdictBadge(latest) : MISSING;
    };
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
      table(
        ['Version', 'Aliases', 'Run', 'Flavor', 'Created', 'Metrics', 'Gates'],
        model.versions.map(version => [
          `v${version.version}`,
          (aliasesOf.get(String(version.version)) ?? []).join(', ') || MISSING,
          this.runLink(version.run_id),
          version.flavor,
          formatTime(version.created_at),
          metricsText(version.metrics),
          verdictOf(version)
        ]),
        { className: 'jp-mlops-versions-table' }
      )
    );
  }

  private renderEvaluation(evaluation: IGateEvaluation): HTMLElement {
    return h(
      'div',
      { className: 'jp-mlops-evaluation', attrs: { 'data-evaluation-id': evaluation.id } },
      h(
        'div',
        { className: 'jp-mlops-evaluation-header' },
        verdictBadge(evaluation),
        ` ${evaluation.model ?? 'no model'} · run `,
        this.runLink(evaluation.run_id),
        ` · ${formatTime(evaluation.evaluated_at)}`
      ),
      table(
        ['Rule', 'Verdict', 'Actual', 'Expected'],
        evaluation.rules.map(rule => [
          h('code', null, rule.rule),
          badge(verdictLabel(rule.passed)),
          formatScalar(rule.actual),
          formatScalar(rule.expected)
        ])
      )
    );
  }
}

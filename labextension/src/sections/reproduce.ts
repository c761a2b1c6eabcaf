/**
 * "Reproduce" on a run's page: run it again from the registry alone, in a fresh kernel,
 * and show what came back. The server does the work in the background
 * (`POST runs/ID/reproduce`, the job at `GET reproductions/jobs/JOB`); this control
 * starts it in the environment picked, shows the progress lines while it runs (it asks
 * again every second), then the verdict the server gave, in its state's colour, and asks
 * the page to redraw so the run's "Reproduced" field lists it. The environments offered
 * and a job already running (started before the page was opened) come from
 * `GET runs/ID/reproduce`.
 */
import { ApiError, postAPI, requestAPI } from '../api';
import { badge, button, h, notice, replaceChildren, stateToken } from '../dom';
import { formatDuration, shortId } from '../format';
import type { IReproduceState, IReproductionJob, IReproductionVerdict } from '../types';
import { writeError } from './note_editor';

/** How often a running reproduction is asked for its progress. */
export const POLL_MS = 1000;

/** What the control needs from the page that shows it. */
export interface IReproduceHost {
  /** Ask the registry for changes now, so the run's page redraws with the new verdict. */
  refresh(): void;
  /** Show another run (the reproduction's own run). */
  openRun(runId: string): void;
  /** Open a file by its path relative to the server root (the executed notebook). */
  openPath(path: string): void;
}

/** The Reproduce button, its environment choice and what the last reproduction said;
 * kept by the run's view across redraws, so a redraw never interrupts one. */
export class ReproduceControl {
  readonly node: HTMLElement;
  private readonly environment = h('select', {
    className: 'jp-mlops-reproduce-env',
    attrs: { 'aria-label': 'Environment to reproduce in' }
  });
  private readonly trigger: HTMLButtonElement;
  private readonly output = h('div', {
    className: 'jp-mlops-reproduce-output',
    attrs: { 'aria-live': 'polite' }
  });
  private following: string | null = null;
  private loaded = false;
  private disposed = false;

  constructor(
    private readonly runId: string,
    private readonly host: IReproduceHost
  ) {
    this.trigger = button('Reproduce', () => void this.start(), {
      className: 'jp-mlops-reproduce',
      title:
        'Run this run again from the registry alone (its earlier cells, parameters and' +
        ' cells) in a fresh kernel, and compare its metrics with these'
    });
    this.trigger.disabled = true;
    this.environment.disabled = true;
    this.node = h(
      'div',
      { className: 'jp-mlops-reproduce-block' },
      h(
        'div',
        { className: 'jp-mlops-reproduce-controls' },
        this.trigger,
        h('label', { className: 'jp-mlops-reproduce-env-label' }, 'in ', this.environment)
      ),
      this.output
    );
  }

  /** Ask the server once which environments it offers and whether the run is being
   * reproduced already (then follow that job). Later calls do nothing. */
  async load(): Promise<void> {
    if (this.loaded) {
      return;
    }
    this.loaded = true;
    try {
      const state = await requestAPI<IReproduceState>(this.route());
      replaceChildren(
        this.environment,
        ...state.environments.map(env =>
          h('option', { title: env.title, attrs: { value: env.name } }, env.name)
        )
      );
      this.environment.disabled = false;
      this.trigger.disabled = false;
      if (state.job && state.job.state === 'running') {
        void this.follow(state.job);
      }
    } catch (error) {
      this.loaded = false; // asked again at the next redraw
      replaceChildren(this.output, writeError(error, 'offer to reproduce this run'));
    }
  }

  /** Stop following: the page is gone (the reproduction itself goes on on the server). */
  dispose(): void {
    this.disposed = true;
  }

  private route(): string {
    return `runs/${encodeURIComponent(this.runId)}/reproduce`;
  }

  private async start(): Promise<void> {
    this.busy(true);
    replaceChildren(this.output, notice('loading', 'Starting the reproduction…'));
    try {
      const job = await postAPI<IReproductionJob>(this.route(), {
        env: this.environment.value || undefined
      });
      await this.follow(job);
    } catch (error) {
      replaceChildren(this.output, writeError(error, 'reproduce this run'));
      if (error instanceof ApiError && error.status === 409) {
        // Reproduced already by a job started elsewhere: follow that one instead.
        const state = await requestAPI<IReproduceState>(this.route()).catch(() => null);
        if (state?.job && state.job.state === 'running') {
          await this.follow(state.job);
          return;
        }
      }
      this.busy(false);
    }
  }

  /** Show the job, then ask for it again until it has ended. */
  private async follow(job: IReproductionJob): Promise<void> {
    if (this.following === job.job) {
      return;
    }
    this.following = job.job;
    this.busy(true);
    let current = job;
    for (;;) {
      this.show(current);
      if (current.state !== 'running' || this.disposed) {
        break;
      }
      await new Promise(resolve => window.setTimeout(resolve, POLL_MS));
      try {
        current = await requestAPI<IReproductionJob>(
          `reproductions/jobs/${encodeURIComponent(current.job)}`
        );
      } catch (error) {
        replaceChildren(this.output, writeError(error, 'follow the reproduction'));
        break;
      }
    }
    this.following = null;
    this.busy(false);
    if (current.state !== 'running') {
      this.host.refresh();
    }
  }

  private busy(running: boolean): void {
    this.trigger.disabled = running;
    this.environment.disabled = running;
    this.trigger.textContent = running ? 'Reproducing…' : 'Reproduce';
    if (running) {
      this.node.setAttribute('aria-busy', 'true');
    } else {
      this.node.removeAttribute('aria-busy');
    }
  }

  private show(job: IReproductionJob): void {
    const seconds = (job.ended_at ?? Date.now() / 1000) - job.started_at;
    const heading = h(
      'div',
      { className: 'jp-mlops-reproduce-heading' },
      badge(job.state),
      ` ${job.environment} environment, ${formatDuration(Math.max(0, seconds))}`
    );
    const lines = h(
      'pre',
      { className: 'jp-mlops-reproduce-lines' },
      job.lines.length ? job.lines.join('\n') : 'Waiting for the kernel…'
    );
    replaceChildren(
      this.output,
      h(
        'div',
        {
          className: 'jp-mlops-reproduce-job',
          attrs: { 'data-job': job.job, 'data-state': stateToken(job.state) }
        },
        heading,
        job.verdict ? this.verdict(job.verdict) : null,
        job.error
          ? notice('error', `Could not reproduce: ${job.error.message}`, job.error.hint)
          : null,
        job.state === 'running' || !job.lines.length
          ? lines
          : h(
              'details',
              { className: 'jp-mlops-reproduce-log' },
              h('summary', null, 'Progress'),
              lines
            )
      )
    );
  }

  private verdict(verdict: IReproductionVerdict): HTMLElement {
    const reproducedAs = verdict.run_id;
    const notebook = verdict.notebook_lab_path;
    return h(
      'div',
      {
        className: 'jp-mlops-reproduce-verdict',
        attrs: { 'data-status': stateToken(verdict.status) }
      },
      h(
        'p',
        { className: 'jp-mlops-reproduce-summary' },
        badge(stateToken(verdict.status), verdict.status.replace('_', ' ')),
        ` ${verdict.summary}`
      ),
      verdict.causes.length
        ? h(
            'ul',
            { className: 'jp-mlops-reproduce-causes' },
            ...verdict.causes.map(cause => h('li', null, `likely cause: ${cause}`))
          )
        : null,
      ...verdict.notes.map(note => h('p', { className: 'jp-mlops-note' }, note)),
      verdict.differs_from_here.length
        ? h(
            'p',
            { className: 'jp-mlops-note' },
            `Versions that differ from this environment: ${verdict.differs_from_here.join(', ')}`
          )
        : null,
      h(
        'div',
        { className: 'jp-mlops-reproduce-links' },
        reproducedAs && reproducedAs !== verdict.original_run_id
          ? button(`Show run ${shortId(reproducedAs)}`, () => this.host.openRun(reproducedAs), {
              className: 'jp-mlops-link jp-mlops-reproduce-run',
              title: `Show the run the reproduction recorded, ${reproducedAs}`
            })
          : null,
        notebook
          ? button('Open the executed notebook', () => this.host.openPath(notebook), {
              className: 'jp-mlops-link jp-mlops-reproduce-notebook',
              title: `Open ${notebook}`
            })
          : verdict.notebook
            ? h('span', { className: 'jp-mlops-note' }, ` Executed notebook: ${verdict.notebook}`)
            : null
      )
    );
  }
}

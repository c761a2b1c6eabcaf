/**
 * Housekeeping on a run's page: its note (markdown, rendered, edited in place), and a
 * Manage section to rename it, set and remove tags, move it to another experiment,
 * archive or restore it, and purge it after a confirmation dialog that says what goes
 * and what stays. Every write goes through the server's routes (`PATCH runs/ID`,
 * `GET runs/ID/purge`, `DELETE runs/ID?confirm=true`, with Jupyter's XSRF token), which
 * call the same core functions as the magics and the CLI; the views then redraw from
 * the registry. A refused write shows the server's message and what to do next.
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import { deleteAPI, patchAPI, requestAPI } from '../api';
import { button, h, replaceChildren } from '../dom';
import { formatBytes, formatScalar, formatTime } from '../format';
import type { IExperiments, IPurgePlan, IPurgeResult, IRunChanges, IRunDetail } from '../types';
import { doneNotice, NoteEditor, writeError } from './note_editor';

/** What the actions need from the page that shows them. */
export interface IRunActionsHost {
  /** Ask the registry for changes now, so every open view redraws. */
  refresh(): void;
  /** The run was purged: its page has nothing left to show. */
  purged(result: IPurgeResult): void;
}

/** The fields `PATCH runs/ID` takes. */
export interface IRunPatch {
  note?: string;
  name?: string;
  tags?: Record<string, string>;
  untag?: string[];
  experiment?: string;
  archived?: boolean;
}

/** Change a run; resolves to what the server did, in words. Throws ApiError. */
export async function changeRun(runId: string, patch: IRunPatch): Promise<string> {
  const answer = await patchAPI<IRunChanges>(`runs/${encodeURIComponent(runId)}`, patch);
  return answer.changes.map(change => change.message).join(' ');
}

/** "1 artifact file", "2 artifact files". */
function files(count: number): string {
  return count === 1 ? '1 artifact file' : `${count} artifact files`;
}

/**
 * Ask for the purge of `runId` in a dialog that says what goes (its child runs, the
 * artifacts only it uses) and what stays (shared artifacts), then purge it. Resolves to
 * the result, or null when the user cancelled. Throws ApiError.
 */
export async function confirmAndPurge(runId: string): Promise<IPurgeResult | null> {
  const route = `runs/${encodeURIComponent(runId)}`;
  const plan = await requestAPI<IPurgePlan>(`${route}/purge`);
  const children = plan.runs.length - 1;
  const body = h(
    'div',
    { className: 'jp-mlops-purge-dialog' },
    h(
      'p',
      null,
      `Run "${plan.name}" (${plan.run_id})`,
      children ? ` and its ${children === 1 ? 'child run' : `${children} child runs`}` : '',
      ' will be deleted for good, with everything recorded. This cannot be undone.'
    ),
    h(
      'ul',
      null,
      h(
        'li',
        { className: 'jp-mlops-purge-unique' },
        `${files(plan.unique_artifacts)} only it uses will be deleted` +
          ` (${formatBytes(plan.bytes_freed)}).`
      ),
      h(
        'li',
        { className: 'jp-mlops-purge-shared' },
        `${files(plan.shared_artifacts)} that other runs, models or snapshots use will stay.`
      )
    ),
    h('p', null, 'To hide it instead (it can be restored), archive it.')
  );
  const answer = await showDialog({
    title: `Purge run "${plan.name}"?`,
    body: new Widget({ node: body }),
    buttons: [
      Dialog.cancelButton(),
      Dialog.warnButton({ label: 'Purge for good', ariaLabel: `Purge run ${plan.name}` })
    ],
    defaultButton: 0
  });
  if (!answer.button.accept) {
    return null;
  }
  return deleteAPI<IPurgeResult>(route, { confirm: 'true' });
}

/** The note and the Manage section of one run's page, kept across its redraws. */
export class RunActions {
  /** The run's note, rendered, with its editor. */
  readonly note: NoteEditor;
  /** The Manage section. */
  readonly node: HTMLDetailsElement;
  /** Where the last write says how it went; kept across redraws. */
  readonly status = h('div', {
    className: 'jp-mlops-write-status',
    attrs: { 'aria-live': 'polite' }
  });
  private detail: IRunDetail | null = null;
  private readonly controls = h('div', { className: 'jp-mlops-manage-controls' });
  private readonly experiments: HTMLDataListElement;

  constructor(
    private readonly runId: string,
    private readonly host: IRunActionsHost
  ) {
    this.note = new NoteEditor({
      className: 'jp-mlops-run-note',
      what: () => `run "${this.detail?.run.name ?? this.runId}"`,
      save: async text => {
        const message = await changeRun(this.runId, { note: text });
        this.host.refresh();
        return message;
      }
    });
    this.experiments = h('datalist', { attrs: { id: `jp-mlops-experiments-${runId}` } });
    this.node = h(
      'details',
      { className: 'jp-mlops-section jp-mlops-manage' },
      h('summary', null, 'Manage: rename, tags, move, archive, purge'),
      this.controls,
      this.experiments
    );
  }

  /** Draw the controls for `detail`; a control being typed in is left as it is. */
  update(detail: IRunDetail): void {
    this.detail = detail;
    this.note.show(detail.run.note ?? null);
    const active = document.activeElement;
    if (active && this.controls.contains(active) && active.tagName === 'INPUT') {
      return;
    }
    replaceChildren(this.controls, ...this.drawControls(detail));
    void this.listExperiments(detail.run.experiment);
  }

  private async listExperiments(current: string): Promise<void> {
    try {
      const listed = await requestAPI<IExperiments>('experiments');
      replaceChildren(
        this.experiments,
        ...listed.experiments
          .filter(e => e.name !== current)
          .map(e => h('option', { attrs: { value: e.name } }))
      );
    } catch {
      // Only suggestions: any name can still be typed.
    }
  }

  /** Run one write: say how it went, then let every view redraw. */
  private async write(doing: string, work: () => Promise<string>): Promise<boolean> {
    this.node.setAttribute('aria-busy', 'true');
    try {
      const message = await work();
      replaceChildren(this.status, doneNotice(message));
      // A control left focused would keep its part of the page from redrawing.
      const active = document.activeElement;
      if (active instanceof HTMLElement && this.controls.contains(active)) {
        active.blur();
      }
      this.host.refresh();
      return true;
    } catch (error) {
      replaceChildren(this.status, writeError(error, doing));
      return false;
    } finally {
      this.node.removeAttribute('aria-busy');
    }
  }

  private drawControls(detail: IRunDetail): HTMLElement[] {
    const run = detail.run;
    const label = `run "${run.name}"`;

    const nameInput = h('input', {
      className: 'jp-mlops-rename-input',
      attrs: { type: 'text', 'aria-label': 'New name', spellcheck: 'false' }
    });
    nameInput.value = run.name;
    const rename = () =>
      this.write(`rename ${label}`, () => changeRun(run.id, { name: nameInput.value.trim() }));
    nameInput.addEventListener('keydown', event => {
      if (event.key === 'Enter') {
        void rename();
      }
    });

    const tagKey = h('input', {
      className: 'jp-mlops-tag-key',
      attrs: { type: 'text', placeholder: 'tag', 'aria-label': 'Tag name', spellcheck: 'false' }
    });
    const tagValue = h('input', {
      className: 'jp-mlops-tag-value',
      attrs: { type: 'text', placeholder: 'value', 'aria-label': 'Tag value', spellcheck: 'false' }
    });
    const addTag = () =>
      this.write(`tag ${label}`, () =>
        changeRun(run.id, { tags: { [tagKey.value.trim()]: tagValue.value } })
      );
    tagValue.addEventListener('keydown', event => {
      if (event.key === 'Enter') {
        void addTag();
      }
    });
    const tags = Object.entries(detail.tags).map(([key, value]) =>
      h(
        'span',
        { className: 'jp-mlops-tag', attrs: { 'data-tag': key } },
        h('span', { className: 'jp-mlops-tag-text' }, `${key}=${formatScalar(value)}`),
        button(
          '×',
          () =>
            void this.write(`remove tag ${key} of ${label}`, () =>
              changeRun(run.id, { untag: [key] })
            ),
          {
            className: 'jp-mlops-tag-remove',
            title: `Remove the tag ${key}`,
            attrs: { 'aria-label': `Remove the tag ${key}` }
          }
        )
      )
    );

    const moveInput = h('input', {
      className: 'jp-mlops-move-input',
      attrs: {
        type: 'text',
        placeholder: 'experiment',
        list: this.experiments.id,
        'aria-label': 'Move to experiment',
        spellcheck: 'false'
      }
    });
    const move = () =>
      this.write(`move ${label}`, () => changeRun(run.id, { experiment: moveInput.value.trim() }));
    moveInput.addEventListener('keydown', event => {
      if (event.key === 'Enter') {
        void move();
      }
    });

    const archived = Boolean(run.archived_at);
    const row = (title: string, ...children: (Node | string)[]) =>
      h(
        'div',
        { className: 'jp-mlops-manage-row' },
        h('span', { className: 'jp-mlops-manage-label' }, title),
        ...children
      );
    return [
      row(
        'Name',
        nameInput,
        button('Rename', () => void rename(), { className: 'jp-mlops-rename' })
      ),
      row(
        'Tags',
        h(
          'span',
          { className: 'jp-mlops-tags' },
          ...(tags.length ? tags : [h('span', { className: 'jp-mlops-note' }, 'none')])
        )
      ),
      row(
        '',
        tagKey,
        tagValue,
        button('Add tag', () => void addTag(), { className: 'jp-mlops-tag-add' })
      ),
      row(
        'Experiment',
        h('span', { className: 'jp-mlops-manage-current' }, run.experiment, ' → '),
        moveInput,
        button('Move', () => void move(), {
          className: 'jp-mlops-move',
          title: 'Move the run (and its children) to this experiment; a new name creates it'
        })
      ),
      row(
        archived ? 'Archived' : 'Visible',
        archived
          ? h(
              'span',
              { className: 'jp-mlops-note' },
              `since ${formatTime(run.archived_at ?? null)} `
            )
          : '',
        archived
          ? button(
              'Restore',
              () =>
                void this.write(`restore ${label}`, () => changeRun(run.id, { archived: false })),
              {
                className: 'jp-mlops-restore',
                title: 'Bring the run (and its children) back into the lists'
              }
            )
          : button(
              'Archive',
              () =>
                void this.write(`archive ${label}`, () => changeRun(run.id, { archived: true })),
              {
                className: 'jp-mlops-archive',
                title: 'Hide the run (and its children) from every list; nothing is deleted'
              }
            ),
        button('Purge…', () => void this.purge(), {
          className: 'jp-mlops-purge jp-mod-warn',
          title: 'Delete the run for good, with the artifacts only it uses (asks first)'
        })
      )
    ];
  }

  private async purge(): Promise<void> {
    const name = this.detail?.run.name ?? this.runId;
    try {
      const result = await confirmAndPurge(this.runId);
      if (result) {
        this.host.purged(result);
        this.host.refresh();
      }
    } catch (error) {
      replaceChildren(this.status, writeError(error, `purge run "${name}"`));
    }
  }
}

/**
 * Archived runs in the Runs table: a toggle that lists the experiment's archived runs
 * instead of the others (`GET runs?archived=true`), greyed, each with a Restore button
 * that brings it (and its children) back through `PATCH runs/ID`.
 */
import { button, h, replaceChildren } from '../dom';
import { changeRun } from './run_actions';
import { doneNotice, writeError } from './note_editor';

export class ArchivedRuns {
  /** The toggle, for the table's toolbar. */
  readonly toggle: HTMLElement;
  /** What the last Restore did. */
  readonly status = h('div', {
    className: 'jp-mlops-write-status',
    attrs: { 'aria-live': 'polite' }
  });
  private readonly box: HTMLInputElement;

  /** `changed` reloads the table; `refresh` asks the registry for changes (every view). */
  constructor(
    changed: () => void,
    private readonly refresh: () => void
  ) {
    this.box = h('input', {
      className: 'jp-mlops-show-archived',
      attrs: { type: 'checkbox' },
      on: {
        change: () => {
          replaceChildren(this.status);
          changed();
        }
      }
    });
    this.toggle = h(
      'label',
      {
        className: 'jp-mlops-toolbar-row jp-mlops-flat-label jp-mlops-archived-label',
        title:
          'List the archived runs (hidden from every list until restored) instead of the others'
      },
      this.box,
      'Archived runs only'
    );
  }

  /** Whether the table lists the archived runs. */
  get shown(): boolean {
    return this.box.checked;
  }

  /** The `archived` argument of `GET runs`. */
  get query(): string | undefined {
    return this.shown ? 'true' : undefined;
  }

  /** Grey the rows of a drawn table of archived runs and give each a Restore button. */
  decorate(table: HTMLTableElement): void {
    if (!this.shown) {
      return;
    }
    const header = table.tHead?.rows[0];
    header?.appendChild(h('td', { className: 'jp-mlops-col-restore' }));
    for (const row of Array.from(table.tBodies[0]?.rows ?? [])) {
      const runId = row.dataset.runId;
      if (!runId) {
        const filler = row.cells[0];
        if (filler) {
          filler.colSpan += 1;
        }
        continue;
      }
      const name = row.querySelector('.jp-mlops-col-name')?.textContent ?? runId;
      row.classList.add('jp-mlops-archived-row');
      const restore = button(
        'Restore',
        async event => {
          event.stopPropagation(); // the row's own click opens the run
          restore.disabled = true;
          try {
            const message = await changeRun(runId, { archived: false });
            replaceChildren(this.status, doneNotice(message));
            this.refresh();
          } catch (error) {
            replaceChildren(this.status, writeError(error, `restore run "${name}"`));
            restore.disabled = false;
          }
        },
        {
          className: 'jp-mlops-restore',
          title: `Bring ${name} (and its children) back into the lists`
        }
      );
      restore.addEventListener('keydown', event => event.stopPropagation());
      row.appendChild(h('td', { className: 'jp-mlops-col-restore' }, restore));
    }
  }
}

/**
 * Selecting runs in the Runs table to compare them: a checkbox at the start of each
 * row (and one in the header for the whole page, both in the first column), kept across pages, sorts and
 * reloads, and a bar that says how many are selected with Compare and Clear. Compare
 * opens the selected runs side by side (see compare.ts).
 */
import { button, h, replaceChildren } from '../dom';

/** The most runs the compare view shows (the server's limit too). */
export const MAX_COMPARED = 12;

export class RunSelection {
  /** The bar above the table: "3 runs selected", Compare, Clear. */
  readonly bar: HTMLElement;
  /** Selected runs, id to name, in the order they were picked. */
  private readonly selected = new Map<string, string>();
  private readonly boxes = new Map<string, HTMLInputElement[]>();

  constructor(private readonly compare: (runIds: string[]) => void) {
    this.bar = h('div', { className: 'jp-mlops-selection-bar', attrs: { role: 'status' } });
    this.drawBar();
  }

  /** The ids of the selected runs, in the order they were picked. */
  get ids(): string[] {
    return [...this.selected.keys()];
  }

  /**
   * Give a drawn runs table its checkboxes: one at the start of the first cell of each
   * run's row (rows carry `data-run-id`), and one in the first header cell that selects
   * the page. No column is added, so cells keep their places under their headers.
   */
  decorate(table: HTMLTableElement): void {
    this.boxes.clear();
    const pageBoxes: HTMLInputElement[] = [];
    for (const row of Array.from(table.tBodies[0]?.rows ?? [])) {
      const runId = row.dataset.runId;
      const cell = row.cells[0];
      if (!runId || !cell) {
        continue;
      }
      const name = row.querySelector('.jp-mlops-col-name')?.textContent ?? runId;
      const box = h('input', {
        className: 'jp-mlops-select',
        attrs: { type: 'checkbox', 'aria-label': `Select ${name} to compare` },
        on: {
          click: event => event.stopPropagation(), // the row's own click opens the run
          keydown: event => event.stopPropagation(),
          change: () => this.set(runId, name, box.checked)
        }
      });
      box.checked = this.selected.has(runId);
      pageBoxes.push(box);
      this.boxes.set(runId, [...(this.boxes.get(runId) ?? []), box]);
      cell.classList.add('jp-mlops-selectable');
      cell.insertBefore(box, cell.firstChild);
    }
    const all = h('input', {
      className: 'jp-mlops-select-page',
      attrs: { type: 'checkbox', 'aria-label': 'Select every run of this page' },
      on: {
        change: () => {
          for (const box of pageBoxes) {
            if (box.checked !== all.checked) {
              box.checked = all.checked;
              box.dispatchEvent(new Event('change'));
            }
          }
        }
      }
    });
    all.checked = pageBoxes.length > 0 && pageBoxes.every(box => box.checked);
    const header = table.tHead?.rows[0]?.cells[0];
    if (header) {
      header.classList.add('jp-mlops-selectable');
      header.insertBefore(all, header.firstChild);
    }
  }

  /** Forget every selected run. */
  clear(): void {
    this.selected.clear();
    for (const boxes of this.boxes.values()) {
      boxes.forEach(box => (box.checked = false));
    }
    this.drawBar();
  }

  private set(runId: string, name: string, selected: boolean): void {
    if (selected) {
      this.selected.set(runId, name);
    } else {
      this.selected.delete(runId);
    }
    for (const box of this.boxes.get(runId) ?? []) {
      box.checked = selected;
    }
    this.drawBar();
  }

  private drawBar(): void {
    const count = this.selected.size;
    this.bar.hidden = count === 0;
    const compare = button(
      count > MAX_COMPARED ? `Compare (at most ${MAX_COMPARED})` : `Compare ${count}`,
      () => this.compare(this.ids),
      {
        className: 'jp-mlops-compare-selected',
        title: 'Show the selected runs side by side: parameters that differ, curves overlaid'
      }
    );
    compare.disabled = count < 2 || count > MAX_COMPARED;
    replaceChildren(
      this.bar,
      h(
        'span',
        { className: 'jp-mlops-selection-count', title: [...this.selected.values()].join(', ') },
        count === 1 ? '1 run selected' : `${count} runs selected`
      ),
      compare,
      button('Clear', () => this.clear(), {
        className: 'jp-mlops-selection-clear',
        title: 'Unselect every run'
      })
    );
  }
}

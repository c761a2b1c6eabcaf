/**
 * A note (markdown) shown rendered, with an Edit button that turns it into a text box
 * with Save and Cancel. Used for a run's note and for an experiment's. While the box is
 * open, a redraw of the page (the registry changed) keeps it and what was typed.
 */
import { ApiError } from '../api';
import { button, h, notice, replaceChildren } from '../dom';
import { renderMarkdown } from '../markdown';

export interface INoteEditorOptions {
  /** What the note belongs to, for labels and messages: 'run "baseline"', 'experiment churn'. */
  what(): string;
  /** Write the note ("" removes it); resolves to the server's sentence, throws ApiError. */
  save(text: string): Promise<string>;
  /** The class of the rendered note, e.g. `jp-mlops-run-note`; the block's is it + `-block`. */
  className: string;
}

/** An error from a write as the panel says it: the server's message and what to do next. */
export function writeError(error: unknown, doing: string): HTMLElement {
  if (error instanceof ApiError) {
    return notice('error', `Could not ${doing}: ${error.message}`, error.hint);
  }
  return notice('error', `Could not ${doing}: ${String(error)}`);
}

/** A write that worked, in the server's words. */
export function doneNotice(text: string): HTMLElement {
  return h(
    'div',
    { className: 'jp-mlops-notice jp-mlops-notice-done', attrs: { role: 'status' } },
    h('p', { className: 'jp-mlops-notice-text' }, text)
  );
}

export class NoteEditor {
  readonly node: HTMLElement;
  private text: string | null = null;
  private editing = false;
  private readonly status = h('div', { className: 'jp-mlops-write-status' });

  constructor(private readonly options: INoteEditorOptions) {
    this.node = h('div', { className: `jp-mlops-note-block ${options.className}-block` });
  }

  /** Whether the text box is open. */
  get isEditing(): boolean {
    return this.editing;
  }

  /** Show `text` (null: no note yet), unless the user is editing it. */
  show(text: string | null): void {
    this.text = text;
    if (!this.editing) {
      this.drawRendered();
    }
  }

  private drawRendered(): void {
    // No note: one line (label, "No note yet.", the button), so an empty note takes little room.
    let body: HTMLElement | null = null;
    if (this.text) {
      body = renderMarkdown(this.text);
      body.classList.add(this.options.className);
    }
    this.node.classList.toggle('jp-mlops-note-block-empty', !this.text);
    replaceChildren(
      this.node,
      h(
        'div',
        { className: 'jp-mlops-note-header' },
        h('span', { className: 'jp-mlops-note-label' }, 'Note'),
        this.text
          ? null
          : h('span', { className: 'jp-mlops-note jp-mlops-note-empty' }, 'No note yet.'),
        button(this.text ? 'Edit note' : 'Add a note', () => this.edit(), {
          className: 'jp-mlops-note-edit',
          title: `Write the note of ${this.options.what()} (markdown)`
        })
      ),
      body,
      this.status
    );
  }

  private edit(): void {
    this.editing = true;
    this.node.classList.remove('jp-mlops-note-block-empty');
    replaceChildren(this.status);
    const box = h('textarea', {
      className: 'jp-mlops-note-input',
      attrs: {
        rows: '6',
        'aria-label': `Note of ${this.options.what()} (markdown)`,
        placeholder: 'Markdown: ## Heading, **bold**, - lists, `code`, [links](https://…)',
        spellcheck: 'true'
      }
    });
    box.value = this.text ?? '';
    const save = button(
      'Save note',
      async () => {
        save.disabled = true;
        try {
          const message = await this.options.save(box.value);
          this.editing = false;
          this.text = box.value.trim() ? box.value : null;
          this.drawRendered();
          replaceChildren(this.status, doneNotice(message));
        } catch (error) {
          replaceChildren(
            this.status,
            writeError(error, `save the note of ${this.options.what()}`)
          );
          save.disabled = false;
        }
      },
      { className: 'jp-mlops-note-save jp-mod-accept' }
    );
    const cancel = button(
      'Cancel',
      () => {
        this.editing = false;
        this.drawRendered();
      },
      { className: 'jp-mlops-note-cancel' }
    );
    replaceChildren(
      this.node,
      h(
        'div',
        { className: 'jp-mlops-note-header' },
        h('span', { className: 'jp-mlops-note-label' }, `Note of ${this.options.what()}`)
      ),
      box,
      h('div', { className: 'jp-mlops-note-buttons' }, save, cancel),
      this.status
    );
    box.focus();
  }
}

/**
 * The note of the experiment the Runs table lists, above the table: rendered markdown,
 * edited in place, read from and written to `GET`/`PATCH experiments/NAME`.
 */
import { patchAPI, requestAPI } from '../api';
import type { IExperimentNote } from '../types';
import { NoteEditor } from './note_editor';

export class ExperimentNoteView {
  private experiment: string | null = null;
  private readonly editor: NoteEditor;

  /** `refresh` asks the registry for changes once a note is written (every view). */
  constructor(refresh: () => void) {
    this.editor = new NoteEditor({
      className: 'jp-mlops-experiment-note',
      what: () => `experiment ${this.experiment ?? ''}`,
      save: async text => {
        const name = this.experiment ?? '';
        const written = await patchAPI<IExperimentNote>(`experiments/${encodeURIComponent(name)}`, {
          note: text
        });
        refresh();
        return written.message ?? `Wrote the note of experiment ${name}.`;
      }
    });
  }

  get node(): HTMLElement {
    return this.editor.node;
  }

  /** Show the note of `experiment`; a note being edited for it is left as it is. */
  async show(experiment: string): Promise<void> {
    if (this.editor.isEditing && experiment === this.experiment) {
      return;
    }
    this.experiment = experiment;
    let note: string | null = null;
    try {
      note = (await requestAPI<IExperimentNote>(`experiments/${encodeURIComponent(experiment)}`))
        .note;
    } catch {
      note = null; // an experiment without a note, or one just removed: nothing to show
    }
    if (experiment === this.experiment && !this.editor.isEditing) {
      this.editor.show(note);
    }
  }
}

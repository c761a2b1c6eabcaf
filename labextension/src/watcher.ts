/**
 * One poll of `GET changes`, shared by the sidebar and the run tabs: while any of
 * them is on screen the server is asked every ~2 s whether the registry changed,
 * and `changed` fires when its marker moves. Nothing on screen, nothing is asked.
 */
import { IDisposable } from '@lumino/disposable';
import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

import { requestAPI } from './api';
import type { IChanges } from './types';

/** How often the registry is asked for changes while something shows it. */
export const POLL_INTERVAL_MS = 2000;

export class ChangeWatcher implements IDisposable {
  private readonly viewers = new Set<Widget>();
  private readonly poll: Poll;
  private marker: string | null = null;
  private readonly changedSignal = new Signal<this, string>(this);
  private readonly answeredSignal = new Signal<this, boolean>(this);

  constructor() {
    this.poll = new Poll({
      auto: true,
      factory: () => this.ask(),
      frequency: { interval: POLL_INTERVAL_MS, backoff: true, max: 30 * 1000 },
      name: 'jupyter-mlops:changes',
      // Ask only while a view is on screen and the browser tab is visible.
      standby: () => (this.anyVisible() ? 'when-hidden' : true)
    });
    this.poll.ticked.connect((_, state) => {
      // Only a finished request says anything about the connection.
      if (state.phase === 'rejected' || state.phase === 'resolved') {
        this.answeredSignal.emit(state.phase === 'resolved');
      }
    });
  }

  /** Fires with the new marker when the registry changed (never for the first answer). */
  get changed(): ISignal<this, string> {
    return this.changedSignal;
  }

  /** Fires after each poll: true when the server answered, false when it did not. */
  get answered(): ISignal<this, boolean> {
    return this.answeredSignal;
  }

  get isDisposed(): boolean {
    return this.poll.isDisposed;
  }

  /** Poll while `widget` is visible (until it is disposed or removed). */
  watch(widget: Widget): void {
    this.viewers.add(widget);
    widget.disposed.connect(() => this.viewers.delete(widget));
  }

  /** Ask now, e.g. when a view is shown again after being hidden. */
  refresh(): Promise<void> {
    return this.poll.refresh();
  }

  dispose(): void {
    this.poll.dispose();
    Signal.clearData(this);
  }

  private anyVisible(): boolean {
    for (const widget of this.viewers) {
      if (widget.isVisible) {
        return true;
      }
    }
    return false;
  }

  private async ask(): Promise<void> {
    const { marker } = await requestAPI<IChanges>('changes');
    const previous = this.marker;
    this.marker = marker;
    if (previous !== null && previous !== marker) {
      this.changedSignal.emit(marker);
    }
  }
}

/** A widget that shows the controller's state: rendered again on every change, disconnected when disposed. */
import { Widget } from '@lumino/widgets';
import type { NbferryController } from './controller.js';

export abstract class ControllerView extends Widget {
  /** Subclasses call `render()` at the end of their own constructor, once their fields are set. */
  constructor(protected readonly controller: NbferryController) {
    super();
    controller.changed.connect(this.render, this);
  }

  abstract render(): void;

  override dispose(): void {
    this.controller.changed.disconnect(this.render, this);
    super.dispose();
  }
}

/** The main-area plan view: each variable of the last checkpoint saved, recomputed or lost, why, its size. */
import { MainAreaWidget } from '@jupyterlab/apputils';
import { ControllerView } from './controller-view.js';
import { groupPlan, planSummary } from '../model/plan.js';
import type { NbferryController } from './controller.js';
import { el } from './dom.js';

class PlanContent extends ControllerView {
  constructor(controller: NbferryController) {
    super(controller);
    this.addClass('nbferry-plan-view');
    this.render();
  }

  render(): void {
    const plan = this.controller.status.plan;
    if (plan === null) {
      this.node.replaceChildren(
        el('p', {
          className: 'nbferry-message',
          text: this.controller.status.kernel?.lastCheckpoint ? 'Loading the plan…' : 'No checkpoint yet: there is no plan to show.',
        }),
      );
      return;
    }
    const groups = groupPlan(plan);
    this.node.dataset.checkpointId = plan.checkpointId ?? '';
    this.node.replaceChildren(
      el('h2', { text: `Plan of checkpoint ${plan.checkpointId ?? '(unknown)'}` }),
      el('p', { className: 'nbferry-plan-summary', text: planSummary(groups) || 'no variables' }),
      plan.warnings.length === 0
        ? el('span')
        : el('ul', { className: 'nbferry-plan-warnings' }, plan.warnings.map((w) => el('li', { text: w }))),
      ...groups
        .filter((g) => g.rows.length > 0)
        .map((g) =>
          el('section', { className: 'nbferry-plan-group', data: { decision: g.decision } }, [
            el('h3', { text: `${g.title} (${g.rows.length})` }),
            el('table', {}, [
              el('tr', {}, [el('th', { text: 'Variable' }), el('th', { text: 'Size' }), el('th', { text: 'Why' })]),
              ...g.rows.map((r) =>
                el('tr', { data: { variable: r.name, decision: g.decision } }, [
                  el('td', { className: 'nbferry-var', text: r.name, title: r.group ? `kept together with: ${r.group}` : '' }),
                  el('td', { className: 'nbferry-size', text: r.size }),
                  el('td', { className: 'nbferry-reason', text: r.reason }),
                ]),
              ),
            ]),
          ]),
        ),
    );
  }
}

export function createPlanView(controller: NbferryController): MainAreaWidget<PlanContent> {
  const widget = new MainAreaWidget({ content: new PlanContent(controller) });
  widget.id = 'nbferry-plan';
  widget.title.label = 'nbferry plan';
  widget.title.closable = true;
  return widget;
}

/**
 * The hub service's operator metrics (Prometheus text format, prom-client) at
 * `GET /services/<name>/metrics`: suspends, restores on return and moves by outcome, their
 * durations, bytes checkpointed, variables lost, and the servers watched by phase.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ServerPhase } from './suspender.js';

/** What started a move: the API, or right-sizing (a kernel near its memory limit). */
export type MoveTrigger = 'api' | 'memory';

const PHASES: ServerPhase[] = ['active', 'warned', 'suspending', 'suspended', 'restoring', 'moving', 'stopped'];
const SECONDS = [0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

export class HubMetrics {
  readonly registry = new Registry();
  readonly suspends = new Counter({
    name: 'nbferry_hub_suspends_total',
    help: 'Idle servers suspended (every kernel checkpointed and verified, then the server stopped), or not (failed: the server keeps running).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly suspendSeconds = new Histogram({
    name: 'nbferry_hub_suspend_duration_seconds',
    help: 'Duration of successful suspends: checkpoint and verify every kernel, record, stop the server.',
    buckets: SECONDS,
    registers: [this.registry],
  });
  readonly checkpointBytes = new Counter({
    name: 'nbferry_hub_checkpoint_bytes_total',
    help: "Bytes of the suspended kernels' checkpoints (their blobs' total; unchanged chunks are not uploaded again).",
    registers: [this.registry],
  });
  readonly restores = new Counter({
    name: 'nbferry_hub_restores_total',
    help: 'Notebooks restored on return: ok (every variable verified), problems (restored, some variable lost or different), failed (not restored, its checkpoint kept).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly restoreSeconds = new Histogram({
    name: 'nbferry_hub_restore_duration_seconds',
    help: 'Duration of the restore of one notebook on return (start or attach the kernel, load, rerun, verify).',
    buckets: SECONDS,
    registers: [this.registry],
  });
  readonly moves = new Counter({
    name: 'nbferry_hub_moves_total',
    help: 'Session moves to another named server by trigger (api, memory) and outcome: moved (every session, verified), incomplete (some stayed on the source), failed.',
    labelNames: ['trigger', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly moveSeconds = new Histogram({
    name: 'nbferry_hub_move_duration_seconds',
    help: 'Duration of moves (checkpoint on the source, start the target, move every session).',
    labelNames: ['trigger'] as const,
    buckets: SECONDS,
    registers: [this.registry],
  });
  readonly lostVariables = new Counter({
    name: 'nbferry_hub_lost_variables_total',
    help: 'Variables a restore on return or a move could not bring back.',
    labelNames: ['operation'] as const,
    registers: [this.registry],
  });
  /** Read at each scrape (set by the suspender that owns the servers). */
  phases: () => ServerPhase[] = () => [];
  readonly servers = (() => {
    const phases = () => this.phases();
    return new Gauge({
      name: 'nbferry_hub_servers',
      help: 'Servers the service watches, by phase.',
      labelNames: ['phase'] as const,
      registers: [this.registry],
      collect() {
        const now = phases();
        for (const phase of PHASES) this.set({ phase }, now.filter((p) => p === phase).length);
      },
    });
  })();

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'nbferry_hub_service_' });
  }
}

/** Operator metrics (Prometheus text format, prom-client), one registry per service instance. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** What started a checkpoint: an API call, auto-checkpoint, a preemption notice, or memory near its limit. */
export type Trigger = 'api' | 'auto' | 'notice' | 'memory';

export class ServiceMetrics {
  readonly registry = new Registry();
  readonly checkpoints = new Counter({
    name: 'nbferry_checkpoints_total',
    help: 'Checkpoints by trigger and outcome (committed, refused: would lose variables, failed, aborted: preempted or past a deadline).',
    labelNames: ['trigger', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly checkpointBytes = new Counter({
    name: 'nbferry_checkpoint_bytes_written_total',
    help: 'Bytes checkpoints added to their stores (new chunks; unchanged data is not written again).',
    labelNames: ['trigger'] as const,
    registers: [this.registry],
  });
  readonly checkpointSeconds = new Histogram({
    name: 'nbferry_checkpoint_duration_seconds',
    help: 'Duration of committed checkpoints.',
    labelNames: ['trigger'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    registers: [this.registry],
  });
  readonly restoreSeconds = new Histogram({
    name: 'nbferry_restore_duration_seconds',
    help: 'Duration of restores and migrations into a fresh kernel (start, load, rerun, verify).',
    labelNames: ['operation'] as const,
    buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    registers: [this.registry],
  });
  readonly failures = new Counter({
    name: 'nbferry_failures_total',
    help: 'Operations that failed, by operation (checkpoint, restore, migrate, gc, register, warm_kernel: a pooled kernel failed to start or to warm up, standby: a standby kernel failed to start or to catch up).',
    labelNames: ['operation'] as const,
    registers: [this.registry],
  });
  readonly lostVariables = new Counter({
    name: 'nbferry_lost_variables_total',
    help: 'Variables a committed checkpoint could not bring back, or a restore lost.',
    labelNames: ['operation'] as const,
    registers: [this.registry],
  });
  /** Read at each scrape by the kernel gauges (set by the service that owns the kernels). */
  kernelCounts: () => { registered: number; protected: number } = () => ({ registered: 0, protected: 0 });
  readonly kernelsRegistered = (() => {
    const counts = () => this.kernelCounts();
    return new Gauge({
      name: 'nbferry_kernels_registered',
      help: 'Kernels registered with the service.',
      registers: [this.registry],
      collect() {
        this.set(counts().registered);
      },
    });
  })();
  readonly kernelsProtected = (() => {
    const counts = () => this.kernelCounts();
    return new Gauge({
      name: 'nbferry_kernels_protected',
      help: 'Registered kernels whose latest checkpoint holds their current state (no cell ran since) with nothing lost.',
      registers: [this.registry],
      collect() {
        this.set(counts().protected);
      },
    });
  })();

  readonly freshKernels = new Counter({
    name: 'nbferry_fresh_kernels_total',
    help: 'Restores and migrations into a new kernel here, by where the kernel came from: pool (a warm kernel, --warm-kernels), launched (started for the request) or standby (the source\'s standby, --standby: only what changed since its last catch-up moved).',
    labelNames: ['source'] as const,
    registers: [this.registry],
  });
  /** Read at each scrape by the warm-kernel gauge (set by the service that owns the pool). */
  warmKernelsReady: () => number = () => 0;
  readonly warmKernels = (() => {
    const ready = () => this.warmKernelsReady();
    return new Gauge({
      name: 'nbferry_warm_kernels_ready',
      help: 'Warm kernels (started, shim attached, modules imported) waiting in the pool for a restore or migration.',
      registers: [this.registry],
      collect() {
        this.set(ready());
      },
    });
  })();

  /** Read at each scrape by the standby gauge (set by the service that owns the kernels). */
  standbysRunning: () => number = () => 0;
  readonly standbyKernels = (() => {
    const running = () => this.standbysRunning();
    return new Gauge({
      name: 'nbferry_standby_kernels',
      help: 'Standby kernels running (--standby): each follows a registered kernel\'s checkpoints and costs a whole kernel\'s memory.',
      registers: [this.registry],
      collect() {
        this.set(running());
      },
    });
  })();

  constructor(options: { processMetrics?: boolean } = {}) {
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'nbferry_service_' });
  }
}

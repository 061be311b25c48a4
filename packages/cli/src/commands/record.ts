/** nbferry record <nb.ipynb> --graph out.json [--dot out.dot]: the history graph of a notebook run. */
import { writeFile } from 'node:fs/promises';
import { EXIT } from '../exit-codes.js';
import { UsageError } from '../errors.js';
import { stopKernel } from '../kernel-options.js';
import { runRecorded } from '../recorded-run.js';

export interface RecordArgs {
  notebook: string;
  python?: string;
  graph?: string;
  dot?: string;
  quiet: boolean;
  signal: AbortSignal;
}

export async function recordCommand(args: RecordArgs): Promise<number> {
  if (!args.graph && !args.dot) {
    throw new UsageError('nbferry record: say where to write the graph: --graph out.json and/or --dot out.dot');
  }
  const run = await runRecorded(args.notebook, args.python, args.quiet ? 'none' : 'cells', args.signal);
  try {
    await run.recorder.sync({ signal: args.signal });
    const graph = run.recorder.graph;
    if (args.graph) await writeFile(args.graph, `${JSON.stringify(graph.toJSON(), null, 2)}\n`);
    if (args.dot) await writeFile(args.dot, graph.toDot());
    process.stderr.write(
      `recorded ${graph.executions.length} executions, ${graph.graph.nodeCount()} nodes, ${graph.graph.edgeCount()} edges` +
        `${args.graph ? ` -> ${args.graph}` : ''}${args.dot ? ` -> ${args.dot}` : ''}\n`,
    );
    return run.failed ? EXIT.incomplete : EXIT.ok;
  } finally {
    await stopKernel(run.kernel, args.signal);
  }
}

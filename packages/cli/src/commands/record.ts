/** nbferry record <nb.ipynb> --graph out.json [--dot out.dot]: the history graph of a notebook run. */
import { writeFile } from 'node:fs/promises';
import { runRecorded } from '../recorded-run.js';

export interface RecordArgs {
  notebook: string;
  python?: string;
  graph?: string;
  dot?: string;
  quiet: boolean;
}

export async function recordCommand(args: RecordArgs): Promise<number> {
  if (!args.graph && !args.dot) {
    process.stderr.write('nbferry record: say where to write the graph: --graph out.json and/or --dot out.dot\n');
    return 2;
  }
  const run = await runRecorded(args.notebook, args.python, args.quiet ? 'none' : 'cells');
  try {
    await run.recorder.sync();
    const graph = run.recorder.graph;
    if (args.graph) await writeFile(args.graph, `${JSON.stringify(graph.toJSON(), null, 2)}\n`);
    if (args.dot) await writeFile(args.dot, graph.toDot());
    process.stderr.write(
      `recorded ${graph.executions.length} executions, ${graph.graph.nodeCount()} nodes, ${graph.graph.edgeCount()} edges` +
        `${args.graph ? ` -> ${args.graph}` : ''}${args.dot ? ` -> ${args.dot}` : ''}\n`,
    );
    return run.failed ? 1 : 0;
  } finally {
    await run.kernel.dispose();
  }
}

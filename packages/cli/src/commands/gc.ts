/** nbferry gc STORE --keep N | --keep-within DURATION: delete old checkpoints, then the chunks no kept checkpoint references. */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { formatBytes } from '@nbferry/migrate';
import { CheckpointNotFoundError, openStore, storeScheme } from '@nbferry/store';
import { EXIT } from '../exit-codes.js';
import { writeDocument, type GcDocument } from '../output/documents.js';

export interface GcArgs {
  store: string;
  keep?: number;
  keepWithinMs?: number;
  json: boolean;
  signal: AbortSignal;
}

export async function gcCommand(args: GcArgs): Promise<number> {
  const url = storeScheme(args.store) !== undefined;
  const root = url ? args.store : resolve(args.store);
  if (!url && !existsSync(root)) throw new CheckpointNotFoundError(root, 'no such directory (give a store: the directory checkpoints were written to)');
  const store = await openStore(root);
  const result = await store.collectGarbage({ keep: args.keep, keepWithin: args.keepWithinMs, signal: args.signal }).finally(() => store.close?.());
  if (args.json) {
    const document: GcDocument = {
      schema: 'nbferry/gc@1',
      store: root,
      deletedCheckpoints: result.deletedCheckpoints,
      keptCheckpoints: result.keptCheckpoints,
      deletedChunks: result.deletedChunks,
      freedBytes: result.freedBytes,
      swept: result.swept,
      skipped: result.skipped ?? null,
    };
    writeDocument(document);
  } else {
    const lines = [
      result.deletedCheckpoints.length ? `deleted ${result.deletedCheckpoints.length} checkpoint(s): ${result.deletedCheckpoints.join(', ')}` : 'deleted no checkpoint',
      `kept ${result.keptCheckpoints.length} checkpoint(s)${result.keptCheckpoints.length ? `: ${result.keptCheckpoints.join(', ')}` : ''}`,
      result.swept
        ? `deleted ${result.deletedChunks} unreferenced chunk(s), freed ${formatBytes(result.freedBytes)}`
        : `chunks not swept: ${result.skipped ?? 'unknown reason'} (run nbferry gc again later)`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  // Chunks left unswept: the store still holds garbage; not whole.
  return result.swept ? EXIT.ok : EXIT.incomplete;
}

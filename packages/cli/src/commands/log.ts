/** nbferry log STORE: every checkpoint of a store, oldest first, with its parent, cell, bytes and changed variables. */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { log, renderLog } from '@nbferry/migrate';
import { CheckpointNotFoundError, openStore, storeScheme } from '@nbferry/store';
import { EXIT } from '../exit-codes.js';
import { verifyingKey } from '../keys.js';
import { writeDocument, type LogDocument } from '../output/documents.js';

export interface LogArgs {
  store: string;
  keyFile?: string;
  trustUnsigned?: boolean;
  json: boolean;
}

export async function logCommand(args: LogArgs): Promise<number> {
  const key = await verifyingKey(args.keyFile);
  const url = storeScheme(args.store) !== undefined;
  const root = url ? args.store : resolve(args.store);
  if (!url && !existsSync(root)) throw new CheckpointNotFoundError(root, 'no such directory (give a store: the directory checkpoints were written to)');
  const store = await openStore(root, { key, trustUnsigned: args.trustUnsigned ?? false });
  const entries = await log(store);
  store.close?.();
  // An unreadable entry (damaged, untrusted) is listed with its reason; the log is then not whole.
  const ok = entries.every((e) => e.error === undefined);
  if (args.json) {
    const document: LogDocument = {
      schema: 'nbferry/log@1',
      ok,
      store: root,
      checkpoints: entries.map((e) => ({
        id: e.id,
        createdAt: e.createdAt,
        parent: e.parent ?? null,
        children: [...e.children],
        latest: e.latest,
        executionCount: e.executionCount,
        cell: e.cell,
        newBytes: e.newBytes ?? null,
        totalBytes: e.totalBytes,
        variablesChanged: [...e.variablesChanged],
        error: e.error ?? null,
      })),
    };
    writeDocument(document);
  } else {
    process.stdout.write(entries.length ? `${renderLog(entries)}\n` : `store ${root} holds no checkpoint\n`);
  }
  return ok ? EXIT.ok : EXIT.incomplete;
}

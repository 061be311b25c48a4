/** nbferry inspect DIR: what a store or checkpoint holds: checkpoints, environment, plan, blobs. */
import { formatBytes, type CheckpointBody } from '@nbferry/migrate';
import { renderPlanText } from '@nbferry/planner';
import { openCheckpoint, openStore } from '@nbferry/store';
import { EXIT } from '../exit-codes.js';
import { untilInterrupted } from '../interrupt.js';
import { describeSignature, verifyingKey } from '../keys.js';
import { checkpointDocument, writeDocument, type InspectDocument } from '../output/documents.js';

export interface InspectArgs {
  path: string;
  /** With a key, a checkpoint not signed by it is refused (UntrustedCheckpointError) unless trustUnsigned. */
  keyFile?: string;
  trustUnsigned?: boolean;
  json: boolean;
  signal: AbortSignal;
}

export async function inspectCommand(args: InspectArgs): Promise<number> {
  const key = await verifyingKey(args.keyFile);
  const checkpoint = await openCheckpoint<CheckpointBody>(args.path, { key, trustUnsigned: args.trustUnsigned ?? false });
  const ids = await (await openStore(args.path)).list();
  const described = checkpointDocument(checkpoint);
  const { manifest } = checkpoint;
  const checked = Promise.all(
    manifest.blobs.map(async (blob) => ({
      file: blob.file,
      bytes: blob.bytes,
      checksum: blob.checksum,
      group: blob.group,
      variables: [...blob.variables],
      intact: await checkpoint.verifyBlob(blob),
    })),
  );
  // Checking blobs reads every byte (minutes for a large store): Ctrl-C stops waiting at once.
  const blobs = await untilInterrupted(checked, args.signal);
  const ok = blobs.every((b) => b.intact);
  if (args.json) {
    const document: InspectDocument = {
      schema: 'nbferry/inspect@1',
      ok,
      checkpointsInStore: ids,
      checkpoint: described,
      parent: manifest.parent ?? null,
      stats: manifest.stats ? { newBytes: manifest.stats.newBytes, totalBytes: manifest.stats.totalBytes } : null,
      environment: manifest.environment,
      executions: manifest.body.history.executions.length,
      blobs,
    };
    writeDocument(document);
    return ok ? EXIT.ok : EXIT.incomplete;
  }
  const lines = [
    `checkpoint ${manifest.id} (${manifest.createdAt}) at ${checkpoint.dir}`,
    ids.length ? `store holds ${ids.length} checkpoint(s): ${ids.join(', ')}` : '',
    `parent: ${manifest.parent ?? 'none (the first checkpoint of its line)'}`,
    ...(manifest.stats ? [`bytes: +${formatBytes(manifest.stats.newBytes)} new of ${formatBytes(manifest.stats.totalBytes)} total (the rest reused from earlier checkpoints)`] : []),
    `signature: ${describeSignature(described.signature)}`,
    `environment: Python ${manifest.environment.python} on ${manifest.environment.platform}; ` +
      Object.entries(manifest.environment.packages)
        .map(([name, version]) => `${name} ${version}`)
        .join(', '),
    `history: ${manifest.body.history.executions.length} recorded executions`,
    '',
    renderPlanText(manifest.body.plan),
    'blobs:',
    ...blobs.map((b) => `  ${b.file}  ${formatBytes(b.bytes).padStart(9)}  ${b.intact ? 'intact' : 'DAMAGED (checksum mismatch)'}  ${b.variables.join(', ')}`),
    ...manifest.body.unrecoverable.map((u) => `cannot be restored: ${u.name}: ${u.reason}`),
  ];
  process.stdout.write(`${lines.filter((l, i) => l !== '' || i > 1).join('\n')}\n`);
  return ok ? EXIT.ok : EXIT.incomplete;
}

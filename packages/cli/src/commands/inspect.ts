/** nbferry inspect DIR: what a store or checkpoint holds: checkpoints, environment, plan, blobs. */
import { formatBytes, type CheckpointBody } from '@nbferry/migrate';
import { renderPlanText } from '@nbferry/planner';
import { LocalStore, openCheckpoint } from '@nbferry/store';

export async function inspectCommand(path: string | undefined, json: boolean): Promise<number> {
  if (!path) {
    process.stderr.write('nbferry inspect: which store or checkpoint? (nbferry inspect <dir>)\n');
    return 2;
  }
  const checkpoint = await openCheckpoint<CheckpointBody>(path);
  const store = new LocalStore(path);
  const ids = await store.list();
  const { manifest } = checkpoint;
  const verified = await Promise.all(manifest.blobs.map(async (blob) => ({ ...blob, intact: await checkpoint.verifyBlob(blob) })));
  if (json) {
    process.stdout.write(
      `${JSON.stringify(
        {
          checkpoint: checkpoint.dir,
          id: manifest.id,
          createdAt: manifest.createdAt,
          checkpointsInStore: ids,
          environment: manifest.environment,
          blobs: verified,
          plan: manifest.body.plan,
          unrecoverable: manifest.body.unrecoverable,
          executions: manifest.body.history.executions.length,
        },
        null,
        2,
      )}\n`,
    );
    return verified.every((b) => b.intact) ? 0 : 1;
  }
  const lines = [
    `checkpoint ${manifest.id} (${manifest.createdAt}) at ${checkpoint.dir}`,
    ids.length ? `store holds ${ids.length} checkpoint(s): ${ids.join(', ')}` : '',
    `environment: Python ${manifest.environment.python} on ${manifest.environment.platform}; ` +
      Object.entries(manifest.environment.packages)
        .map(([name, version]) => `${name} ${version}`)
        .join(', '),
    `history: ${manifest.body.history.executions.length} recorded executions`,
    '',
    renderPlanText(manifest.body.plan),
    'blobs:',
    ...verified.map((b) => `  ${b.file}  ${formatBytes(b.bytes).padStart(9)}  ${b.intact ? 'intact' : 'DAMAGED (checksum mismatch)'}  ${b.variables.join(', ')}`),
    ...manifest.body.unrecoverable.map((u) => `cannot be restored: ${u.name}: ${u.reason}`),
  ];
  process.stdout.write(`${lines.filter((l, i) => l !== '' || i > 1).join('\n')}\n`);
  return verified.every((b) => b.intact) ? 0 : 1;
}

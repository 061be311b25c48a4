// Test fixture: writes checkpoints in a loop until killed. Each blob's content encodes its checkpoint
// number, so a reader can tell whether what it opened is whole and consistent.
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LocalStore } from './local-store.js';

const store = new LocalStore(process.argv[2]!);
for (let n = 1; ; n++) {
  const draft = await store.begin();
  const blobs = [];
  for (let b = 0; b < 4; b++) {
    const data = Buffer.alloc(256 * 1024, n % 256);
    const file = `g${b}.bin`;
    await writeFile(join(draft.blobsDir, file), data);
    blobs.push({ file, bytes: data.length, checksum: `sha256:${createHash('sha256').update(data).digest('hex')}`, group: `g${b}`, variables: [`v${b}`] });
  }
  await draft.commit({ environment: { python: '3', platform: 'test', packages: {} }, blobs, body: { n } });
  process.stdout.write(`${n}\n`);
}

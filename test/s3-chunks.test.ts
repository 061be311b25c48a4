// S3Chunks.get on a real SeaweedFS: a chunk streamed into one buffer and checked against its name;
// one larger than a part fetched as parallel ranged GETs; damage and short objects refused.
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { S3Chunks } from '@nbferry/store-s3';
import { startSeaweed, type Seaweed } from './support/seaweed.js';

const MiB = 1024 * 1024;
let weed: Seaweed;
let client: S3Client;

beforeAll(async () => {
  weed = await startSeaweed();
  await weed.createBucket('chunks');
  client = weed.client();
}, 120_000);
afterAll(async () => {
  client?.destroy();
  await weed?.stop();
});

async function stored(chunks: S3Chunks, bytes: Buffer, name = createHash('sha256').update(bytes).digest('hex')): Promise<string> {
  await client.send(new PutObjectCommand({ Bucket: 'chunks', Key: chunks.keyOf(name), Body: bytes }));
  return name;
}

it('reads a chunk whole, and one larger than a part as ranged GETs, byte for byte', async () => {
  const chunks = new S3Chunks(client, 'chunks', 'a/chunks', 's3://chunks/a', 3, 1 * MiB); // 1 MiB parts, 3 at once
  const small = randomBytes(700_000);
  const large = randomBytes(5 * MiB + 12_345); // 6 ranges
  expect(Buffer.from(await chunks.get(await stored(chunks, small), small.byteLength)).equals(small)).toBe(true);
  expect(Buffer.from(await chunks.get(await stored(chunks, large), large.byteLength)).equals(large)).toBe(true);
});

it('refuses a chunk whose bytes are not its name, or not its size; checkedByReader leaves the hash to the caller', async () => {
  const chunks = new S3Chunks(client, 'chunks', 'b/chunks', 's3://chunks/b', 3, 1 * MiB);
  const bytes = randomBytes(3 * MiB);
  const name = createHash('sha256').update(bytes).digest('hex');
  const damaged = Buffer.from(bytes);
  damaged[2 * MiB + 7] ^= 0xff;
  await stored(chunks, damaged, name);
  await expect(chunks.get(name, bytes.byteLength)).rejects.toMatchObject({ code: 'CHUNK_MISMATCH', message: expect.stringMatching(/does not match its name/) });
  await expect(chunks.get(name, bytes.byteLength + 1)).rejects.toMatchObject({ code: 'CHUNK_MISMATCH', message: expect.stringMatching(/the manifest says/) });
  // The kernel checks it as it is staged (remote-blobs.ts): here the bytes come back as stored.
  expect(Buffer.from(await chunks.get(name, bytes.byteLength, undefined, { checkedByReader: true })).equals(damaged)).toBe(true);
  await expect(chunks.get('0'.repeat(64), 10)).rejects.toMatchObject({ code: 'CHUNK_MISMATCH', message: expect.stringMatching(/is missing/) });
});

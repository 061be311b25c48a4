#!/usr/bin/env node
// Copies the JSON Schemas of the command's --json documents from @nbferry/cli (their source,
// packages/cli/schemas/) into this package's schemas/ (shipped in "files"), so a platform that
// installs only `nbferry` resolves them as `nbferry/schemas/<kind>.schema.json`.
// Run by the root `npm run build` and by `npm pack` (prepack).
import { copyFile, mkdir, readdir, rename, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const from = fileURLToPath(new URL('../../cli/schemas/', import.meta.url));
const to = fileURLToPath(new URL('../schemas/', import.meta.url));
const staging = to.replace(/\/$/, `.tmp-${process.pid}/`);

await rm(staging, { recursive: true, force: true });
await mkdir(staging, { recursive: true });
const schemas = (await readdir(from)).filter((f) => f.endsWith('.schema.json'));
for (const file of schemas) await copyFile(`${from}${file}`, `${staging}${file}`);
// Replace the previous copy whole, so a schema deleted from @nbferry/cli disappears here too.
await rm(to, { recursive: true, force: true });
await rename(staging, to);
console.log(`copied ${schemas.length} JSON Schemas into ${to}`);

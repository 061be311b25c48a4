#!/usr/bin/env node
// Copies the shim's Python sources from this repository's python-shim/ into the package's shim/
// directory (shipped in "files"), so an installed @nbferry/recorder needs nothing from the checkout.
// Same layout as python-shim/ (src/nbferry_shim/*.py and inject.py.tmpl): one reader for both.
// Run by the root `npm run build` and by `npm pack` (prepack).
import { copyFile, mkdir, readdir, rename, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const from = fileURLToPath(new URL('../../../python-shim/', import.meta.url));
const to = fileURLToPath(new URL('../shim/', import.meta.url));
const staging = to.replace(/\/$/, `.tmp-${process.pid}/`);

await rm(staging, { recursive: true, force: true });
await mkdir(`${staging}src/nbferry_shim`, { recursive: true });
const modules = (await readdir(`${from}src/nbferry_shim`)).filter((f) => f.endsWith('.py'));
for (const file of modules) await copyFile(`${from}src/nbferry_shim/${file}`, `${staging}src/nbferry_shim/${file}`);
await copyFile(`${from}inject.py.tmpl`, `${staging}inject.py.tmpl`);
// Replace the previous copy whole, so a module deleted from python-shim/ disappears here too.
await rm(to, { recursive: true, force: true });
await rename(staging, to);
console.log(`copied ${modules.length} shim modules and inject.py.tmpl into ${to}`);

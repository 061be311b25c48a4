#!/usr/bin/env node
/** The nbferry command (see cli.ts and program.ts). */
import { runCli } from './cli.js';

const code = await runCli(process.argv.slice(2));
process.exit(code);

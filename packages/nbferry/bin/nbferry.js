#!/usr/bin/env node
// The `nbferry` command: @nbferry/cli's entry point, which runs on import.
import '@nbferry/cli/main';

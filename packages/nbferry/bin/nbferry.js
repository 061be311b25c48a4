#!/usr/bin/env node
// The `nbferry` command: @nbferry/cli's entry point, which runs on import.
try {
  await import('@nbferry/cli/main');
} catch (error) {
  // In a checkout before `npm run build` the CLI has no dist/ yet; say so rather than print a stack.
  if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !String(error.message).includes('/cli/dist/main.js')) throw error;
  console.error('nbferry: @nbferry/cli is not built. In a checkout run `npm run build` (or reinstall nbferry).');
  process.exitCode = 1;
}

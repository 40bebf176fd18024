#!/usr/bin/env node
// gqlauth-manage: the manage commands where the package is installed (`npx gqlauth-manage check --deploy`),
// from any working directory. An installed package ships the build (dist/) and runs it; a checkout has the sources
// beside this file and runs them through tsx (resolved from this file, not from the caller's directory), as
// `npm run manage` does, so that it never runs a stale build.
import { existsSync } from 'node:fs';
import { URL } from 'node:url';

if (existsSync(new URL('./manage.ts', import.meta.url))) {
  const { register } = await import('tsx/esm/api');
  register();
  await import('./manage.ts');
} else {
  await import('../../dist/cli/manage.js');
}

#!/usr/bin/env node
// gqlauth-manage: the manage commands where the package is installed (`npx gqlauth-manage check --deploy`),
// from any working directory. tsx is resolved from this file, not from the caller's directory.
import { register } from 'tsx/esm/api';

register();
await import('./manage.ts');

#!/usr/bin/env node
// `npm start`'s first step: build dist/ from src/ (an incremental `tsc -b`, well under a second when nothing
// changed), so that the server never runs a stale build. Where TypeScript is not installed (`npm ci --omit=dev` in
// a production image), the build shipped in dist/ is run as it is; without one either, say what to do in one line.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import process from 'node:process';
import { URL } from 'node:url';

const built = existsSync(new URL('../../dist/main.js', import.meta.url));
let typescript = true;
try {
  createRequire(import.meta.url).resolve('typescript');
} catch {
  typescript = false;
}

if (typescript) {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const { status } = spawnSync(npm, ['run', '--silent', 'build'], { stdio: 'inherit' });
  process.exit(status ?? 1);
} else if (!built) {
  process.stderr.write(
    'error: dist/ holds no build and TypeScript is not installed: run `npm run build` where the dev dependencies are ' +
      'installed (npm install), then start again\n',
  );
  process.exit(1);
}

/**
 * The Node options `npm start` gives the server: the words between `node` and `--import` in package.json's start
 * script. The process tests and the bench start the server with them, so that what they run is what users run.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const PACKAGE_JSON = fileURLToPath(new URL('../../package.json', import.meta.url));

export function startNodeOptions(): string[] {
  const { scripts } = JSON.parse(readFileSync(PACKAGE_JSON, 'utf8')) as { scripts?: Record<string, string> };
  const start = scripts?.start ?? '';
  const words = start.split(/\s+/);
  const node = words.indexOf('node');
  const loader = words.indexOf('--import');
  if (node < 0 || loader < node) {
    throw new Error(`package.json's start script is not "node [options] --import tsx src/main.ts": ${start}`);
  }
  return words.slice(node + 1, loader);
}

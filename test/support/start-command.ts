/**
 * The Node options `npm start` gives the server, read from package.json's start script. The process tests and the
 * bench start the server with them, so that what they run is what users run.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const PACKAGE_JSON = fileURLToPath(new URL('../../package.json', import.meta.url));

/** What the script must run after the options (the build): anything else would be dropped silently, so it is refused. */
const ENTRY = ['dist/main.js'];

/** The options in a start script of the form `[exec] node [options...] dist/main.js`. */
export function nodeOptionsOf(script: string): string[] {
  const words = script.trim().split(/\s+/);
  const node = words[0] === 'exec' ? 1 : 0;
  const entry = words.length - ENTRY.length;
  if (words[node] !== 'node' || entry <= node || words.slice(entry).join(' ') !== ENTRY.join(' ')) {
    throw new Error(`the start script is not "[exec] node [options] ${ENTRY.join(' ')}": ${script}`);
  }
  const options = words.slice(node + 1, entry);
  // A second loader (an instrumentation --import) would have to come along too, and then be started in the same
  // order: not supported by this reading, so refused rather than half-copied.
  if (options.some((option) => option === '--import' || option.startsWith('--import='))) {
    throw new Error(
      `the start script's options hold another --import, which tests and the bench do not copy: ${script}`,
    );
  }
  return options;
}

export function startNodeOptions(): string[] {
  const { scripts } = JSON.parse(readFileSync(PACKAGE_JSON, 'utf8')) as { scripts?: Record<string, string> };
  return nodeOptionsOf(scripts?.start ?? '');
}

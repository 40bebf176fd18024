/**
 * The process tests and the bench start the server with `npm start`'s Node options: read from package.json, and
 * refused rather than half-read when the script has a shape this reading does not know.
 */
import { describe, expect, it } from '@jest/globals';
import { nodeOptionsOf, startNodeOptions } from './support/start-command.js';

describe("npm start's Node options", () => {
  it('are the words between node and dist/main.js', () => {
    expect(nodeOptionsOf('exec node --max-semi-space-size=16 dist/main.js')).toEqual(['--max-semi-space-size=16']);
    expect(nodeOptionsOf('node --a=1 --b dist/main.js')).toEqual(['--a=1', '--b']);
    expect(nodeOptionsOf('exec node dist/main.js')).toEqual([]);
  });

  it.each([
    ['an option after the entry', 'exec node dist/main.js --enable-source-maps'],
    ['a loader', 'exec node --import ./otel.js dist/main.js'],
    ['an environment prefix', 'NODE_ENV=production exec node dist/main.js'],
    ['another entry', 'exec node dist/cli/manage.js'],
    ['the sources through tsx', 'exec node --import tsx src/main.ts'],
    ['an empty script', ''],
  ])('refuses %s', (_shape, script) => {
    expect(() => nodeOptionsOf(script)).toThrow(/start script/);
  });

  it("include package.json's young-generation size, which keeps the resident size flat under load", () => {
    expect(startNodeOptions()).toContain('--max-semi-space-size=16');
  });
});

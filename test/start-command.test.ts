/**
 * The process tests and the bench start the server with `npm start`'s Node options: read from package.json, and
 * refused rather than half-read when the script has a shape this reading does not know.
 */
import { describe, expect, it } from '@jest/globals';
import { nodeOptionsOf, startNodeOptions } from './support/start-command.js';

describe("npm start's Node options", () => {
  it('are the words between node and --import tsx src/main.ts', () => {
    expect(nodeOptionsOf('exec node --max-semi-space-size=16 --import tsx src/main.ts')).toEqual([
      '--max-semi-space-size=16',
    ]);
    expect(nodeOptionsOf('node --a=1 --b --import tsx src/main.ts')).toEqual(['--a=1', '--b']);
    expect(nodeOptionsOf('exec node --import tsx src/main.ts')).toEqual([]);
  });

  it.each([
    ['an option after the entry', 'exec node --import tsx src/main.ts --enable-source-maps'],
    ['an option between the loader and the entry', 'exec node --import tsx --enable-source-maps src/main.ts'],
    ['a second loader', 'exec node --import ./otel.js --import tsx src/main.ts'],
    ['an environment prefix', 'NODE_ENV=production exec node --import tsx src/main.ts'],
    ['another entry', 'exec node --import tsx src/cli/manage.ts'],
    ['no loader', 'exec node src/main.ts'],
    ['an empty script', ''],
  ])('refuses %s', (_shape, script) => {
    expect(() => nodeOptionsOf(script)).toThrow(/start script/);
  });

  it("include package.json's young-generation size, which keeps the resident size flat under load", () => {
    expect(startNodeOptions()).toContain('--max-semi-space-size=16');
  });
});

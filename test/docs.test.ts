/**
 * The README and .env.example document every variable the configuration reads, with its default.
 */
import fs from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { variables } from '../src/config/index.js';

const read = (file: string) => fs.readFileSync(new URL(`../${file}`, import.meta.url), 'utf8');
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('documentation of the configuration', () => {
  const readme = read('README.md');
  const example = read('.env.example');

  it.each(Object.entries(variables))('README lists %s with its default', (name, { default: value }) => {
    expect(readme).toMatch(new RegExp(`^\\| +\`${name}\` +\\| +\`${escape(value)}\` +\\|`, 'm'));
  });

  it.each(Object.entries(variables))('.env.example lists %s with its default', (name, { default: value }) => {
    expect(example.split('\n')).toContain(`# ${name}=${value}`);
  });

  it('documents no variable that the configuration does not read', () => {
    const inReadme = [...readme.matchAll(/^\| +`([A-Z_]+)` +\|/gm)].map((match) => match[1]);
    const inExample = [...example.matchAll(/^# ([A-Z_]+)=/gm)].map((match) => match[1]);
    const known = Object.keys(variables);
    expect(inReadme.filter((name) => !known.includes(name ?? ''))).toEqual([]);
    expect(inExample.filter((name) => !known.includes(name ?? ''))).toEqual([]);
  });

  it('opens the Quick start with the two commands', () => {
    const quickStart = readme.slice(readme.indexOf('## Quick start'));
    const firstBlock = quickStart.slice(
      quickStart.indexOf('```') + 4,
      quickStart.indexOf('```', quickStart.indexOf('```') + 3),
    );
    expect(
      firstBlock
        .split('\n')
        .filter(Boolean)
        .map((line) => line.split('#')[0]?.trim()),
    ).toEqual(['npm install && npm start', 'npm test']);
  });
});

describe('documentation of the system checks', () => {
  const readme = read('README.md');
  const source = ['src/checks/config.ts', 'src/checks/system.ts', 'src/cli/check-command.ts'].map(read).join('\n');
  const inSource = [...new Set([...source.matchAll(/'([a-z]+\.[EW]\d{3})'/g)].map((match) => match[1]))].sort();
  const inReadme = [...readme.matchAll(/^\| +`([a-z]+\.[EW]\d{3})` +\|/gm)].map((match) => match[1]).sort();

  it('lists every check id the code reports, and no other', () => {
    expect(inSource.length).toBeGreaterThan(20);
    expect(inReadme).toEqual(inSource);
  });
});

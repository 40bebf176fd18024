/**
 * The README and .env.example document every variable the configuration reads, with its default.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createAuth } from '../src/auth/index.js';
import { seedDemo } from '../src/cli/seed-demo.js';
import { variables } from '../src/config/index.js';
import { createTestApp, type TestApp } from './support/app.js';
import { HttpClient } from './support/http-client.js';

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

describe("the Quick start's first user and first login", () => {
  const readme = read('README.md');
  const quickStart = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('## What is here'));
  let app: TestApp;
  beforeAll(async () => {
    app = await createTestApp({ env: { NODE_ENV: 'development', ARGON2_MEMORY_KIB: '1024', ARGON2_TIME_COST: '1' } });
    await seedDemo(app.database.orm.em.fork(), createAuth(app.config));
  });
  afterAll(() => app.stop());

  it('names the commands that make a first user, and manage has them', () => {
    const manage = read('src/cli/manage.ts');
    for (const command of ['createsuperuser', 'seed-demo']) {
      expect(quickStart).toContain(`npm run manage -- ${command}`);
      expect(manage).toContain(`${command === 'seed-demo' ? "'seed-demo'" : command}: {`);
    }
  });

  it('shows a login and a `me` whose answers are what the server answers, one browser (cookie file) for both', async () => {
    const lines = quickStart.split('\n');
    const exchanges = lines.flatMap((line, index) => {
      const body = /^\$ curl .* -d '(.+)'$/.exec(line)?.[1];
      return body === undefined ? [] : [{ body, shown: lines[index + 1] ?? '' }];
    });
    expect(exchanges.map(({ body }) => (JSON.parse(body) as { query: string }).query)).toEqual([
      expect.stringContaining('login('),
      expect.stringContaining('me {'),
    ]);
    const client = new HttpClient(app.url);
    for (const { body, shown } of exchanges) {
      const response = await client.fetch('/graphql', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      expect((await response.text()).trim()).toBe(shown);
    }
  });
});

describe('documentation of the system checks', () => {
  const readme = read('README.md');
  const source = ['src/checks/config.ts', 'src/checks/system.ts', 'src/checks/logins.ts', 'src/cli/check-command.ts']
    .map(read)
    .join('\n');
  const inSource = [...new Set([...source.matchAll(/'([a-z]+\.[EW]\d{3})'/g)].map((match) => match[1]))].sort();
  const inReadme = [...readme.matchAll(/^\| +`([a-z]+\.[EW]\d{3})` +\|/gm)].map((match) => match[1]).sort();

  it('lists every check id the code reports, and no other', () => {
    expect(inSource.length).toBeGreaterThan(20);
    expect(inReadme).toEqual(inSource);
  });
});

/**
 * The documentation says what the code does: docs/configuration.md and .env.example are generated from the settings'
 * declarations (`npm run docs:settings`), the README's examples run against the real server, and the README stays a
 * newcomer's first page whose links, like those of docs/, lead somewhere.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createAuth } from '../src/auth/index.js';
import { seedDemo } from '../src/cli/seed-demo.js';
import { configurationDoc, envExample } from '../src/config/documentation.js';
import { settings } from '../src/config/index.js';
import { createTestApp, type TestApp } from './support/app.js';
import { HttpClient } from './support/http-client.js';

const read = (file: string) => fs.readFileSync(new URL(`../${file}`, import.meta.url), 'utf8');

describe('documentation of the configuration', () => {
  const readme = read('README.md');

  it('docs/configuration.md is the one generated from the declarations (run `npm run docs:settings`)', () => {
    expect(read('docs/configuration.md')).toBe(configurationDoc());
  });

  it('.env.example is the one generated from the declarations (run `npm run docs:settings`)', () => {
    expect(read('.env.example')).toBe(envExample());
  });

  it('docs/configuration.md lists every setting with its default, once', () => {
    const rows = [...configurationDoc().matchAll(/^\| +`([A-Z0-9_]+)` +\| +`(.+?)` +\|/gm)];
    expect(rows.map(([, name]) => name)).toEqual(Object.keys(settings));
    for (const [, name, shown] of rows) {
      const setting = settings[name as keyof typeof settings];
      expect([name, shown]).toEqual([name, setting.default ?? setting.unset]);
    }
  });

  it('the README links to docs/configuration.md, and the few settings it shows have their declared defaults', () => {
    const section = readme.slice(
      readme.indexOf('## Configuration'),
      readme.indexOf('\n## ', readme.indexOf('## Configuration') + 1),
    );
    expect(section).toContain('](docs/configuration.md)');
    const inReadme = [...readme.matchAll(/^\| +`([A-Z0-9_]+)` +\| +`(.+?)` +\|/gm)];
    expect(inReadme.length).toBeGreaterThan(0);
    for (const [, name, shown] of inReadme) {
      expect(Object.keys(settings)).toContain(name);
      const setting = settings[name as keyof typeof settings];
      expect([name, shown]).toEqual([name, setting.default ?? setting.unset]);
    }
    // The newcomer's few; the rest live in docs/configuration.md alone.
    expect(inReadme.length).toBeLessThan(10);
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
  it('docs/operations.md lists every check id the code reports, and no other', () => {
    const source = ['src/checks/config.ts', 'src/checks/system.ts', 'src/checks/logins.ts', 'src/cli/check-command.ts']
      .map(read)
      .join('\n');
    const inSource = [...new Set([...source.matchAll(/'([a-z]+\.[EW]\d{3})'/g)].map((match) => match[1]))].sort();
    const inDocs = [...read('docs/operations.md').matchAll(/^\| +`([a-z]+\.[EW]\d{3})` +\|/gm)]
      .map((match) => match[1])
      .sort();
    expect(inSource.length).toBeGreaterThan(20);
    expect(inDocs).toEqual(inSource);
  });
});

/** Markdown without its code: links and headings inside code blocks and code spans are text, not links. */
const prose = (markdown: string) => markdown.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');

/** The anchor GitHub gives a heading: lower case, punctuation dropped, each space a hyphen (as github-slugger). */
const anchorOf = (heading: string) =>
  heading
    .replace(/`/g, '')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\p{M} _-]/gu, '')
    .replace(/ /g, '-');

const anchorsOf = (markdown: string) =>
  new Set(
    [...markdown.replace(/^```[\s\S]*?^```/gm, '').matchAll(/^#{1,6} +(.+)$/gm)].map(([, heading]) =>
      anchorOf(heading ?? ''),
    ),
  );

describe('the README and docs/', () => {
  const docs = fs
    .readdirSync(new URL('../docs/', import.meta.url))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`);

  it('docs/extending.md names every event of the bus, for whoever writes a listener', () => {
    const events = [...read('src/auth/events.ts').matchAll(/^ {2}(\w+): [{(]/gm)].map((match) => match[1] ?? '');
    expect(events.length).toBeGreaterThan(20);
    const extending = read('docs/extending.md');
    expect(events.filter((event) => !extending.includes(`\`${event}\``))).toEqual([]);
  });

  it("README.md stays well under 300 lines: a newcomer's first page, the rest in docs/", () => {
    expect(read('README.md').split('\n').length).toBeLessThan(300);
  });

  it('README.md links to every file of docs/, each in its table of contents', () => {
    const readme = read('README.md');
    expect(docs.length).toBeGreaterThan(5);
    expect(docs.filter((file) => !readme.includes(`](${file})`))).toEqual([]);
  });

  it('every relative link in README.md and docs/*.md names a file that exists, and a heading there', () => {
    const links = ['README.md', ...docs].flatMap((file) =>
      [...prose(read(file)).matchAll(/\]\(([^)\s]+)\)/g)]
        .map(([, target]) => target ?? '')
        .filter((target) => !/^[a-z]+:/i.test(target))
        .map((target) => ({ file, target })),
    );
    expect(links.length).toBeGreaterThan(20);
    const broken = links.filter(({ file, target }) => {
      const [relative = '', anchor] = target.split('#');
      const resolved = relative === '' ? file : path.posix.join(path.posix.dirname(file), relative);
      if (resolved.startsWith('..') || !fs.existsSync(new URL(`../${resolved}`, import.meta.url))) return true;
      return anchor !== undefined && resolved.endsWith('.md') && !anchorsOf(read(resolved)).has(anchor);
    });
    expect(broken).toEqual([]);
  });
});

/**
 * `check` and `check --deploy`: each check finds its misconfiguration and nothing else; the command reports a bad
 * production configuration by ids and exits 1, and a good one with no issues and exit 0.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { configChecks, domainMatches } from '../src/checks/config.js';
import { systemChecks } from '../src/checks/system.js';
import { DEVELOPMENT_SESSION_SECRET, loadConfig, type Config } from '../src/config/index.js';
import type { EntityManager } from '@mikro-orm/postgresql';
import { createAuth } from '../src/auth/index.js';
import { openDatabase } from '../src/db/database.js';
import { User } from '../src/entities/user.js';
import { buildSchema } from '../src/graphql/schema.js';
import { createEmptyDatabase, createTestDatabase, databaseEnv, type TestDatabase } from './support/database.js';
import { testLogger } from './support/env.js';
import { runManage, spawnServer, timeExit } from './support/process.js';
import { describeWithRedis, redisStoreEnv } from './support/session-stores.js';

/** A production configuration with nothing to report: TLS ends at one proxy, mail goes out, secrets are strong. */
const GOOD_PRODUCTION: Record<string, string> = {
  NODE_ENV: 'production',
  SESSION_SECRET: 'k7Qm2vX9pL4rT8wZ1nB6cF3hJ5sD0gYa',
  PUBLIC_URL: 'https://api.example.com',
  TRUST_PROXY: '1',
  SMTP_URL: 'smtps://mailer:pw@smtp.example.com:465',
  PASSWORD_RESET_URL: 'https://app.example.com/reset/{uid}/{token}',
};

/** What an operator got wrong at once, each from a real incident; `check --deploy` must name every one. */
const BAD_PRODUCTION: Record<string, string> = {
  NODE_ENV: 'production',
  SESSION_SECRET: 'changeme',
  PUBLIC_URL: 'https://api.example.com',
  SESSION_COOKIE_SECURE: 'false',
  SESSION_COOKIE_SAMESITE: 'none',
  SESSION_COOKIE_DOMAIN: 'example.org',
  GRAPHQL_INTROSPECTION: 'true',
  GRAPHQL_LANDING_PAGE: 'true',
  ARGON2_MEMORY_KIB: '4096',
  ARGON2_TIME_COST: '1',
  CORS_ORIGINS: '*',
};

const BAD_PRODUCTION_IDS = [
  'security.E004', // SESSION_SECRET shorter than 32 bytes
  'security.E005', // Secure off
  'security.E006', // SameSite=None without Secure
  'security.E007', // cookie domain is not PUBLIC_URL's
  'security.W016', // https PUBLIC_URL, no TRUST_PROXY (with Secure on, it would be security.E008)
  'security.W011', // introspection
  'security.W012', // landing page
  'security.E013', // argon2 below OWASP
  'security.E015', // CORS * with credentials
  'mail.W001', // console mail backend
  'mail.W002', // default reset URL
];

/** The ids configChecks reports for GOOD_PRODUCTION changed by `changes` (undefined removes a variable). */
function idsFor(changes: Record<string, string | undefined>): string[] {
  const env = Object.fromEntries(
    Object.entries({ ...GOOD_PRODUCTION, ...changes }).filter(([, value]) => value !== undefined),
  );
  return idsOf(env);
}

function idsOf(env: NodeJS.ProcessEnv, deploy = true): string[] {
  return configChecks(loadConfig(env, '/srv/app', { forChecks: true }), env, { deploy }).map((result) => result.id);
}

describe('configChecks', () => {
  it('reports every mistake of a bad production configuration by its id', () => {
    expect(idsOf(BAD_PRODUCTION).sort()).toEqual([...BAD_PRODUCTION_IDS].sort());
  });

  it('reports nothing for a good production configuration', () => {
    expect(idsFor({})).toEqual([]);
  });

  it('without --deploy, still reports in production what the server would refuse to start with', () => {
    const behindProxy = { NODE_ENV: 'production', PUBLIC_URL: 'https://api.example.com', TRUST_PROXY: '1' };
    expect(idsOf(behindProxy, false)).toEqual(['security.E002']);
    expect(idsOf({ ...behindProxy, SESSION_SECRET: 'changeme' }, false)).toEqual(['security.E004']);
    expect(idsOf({ NODE_ENV: 'development' }, false)).toEqual([]);
  });

  it('without --deploy, reports only what breaks logins in any environment', () => {
    expect(idsOf(BAD_PRODUCTION, false).sort()).toEqual([
      'security.E004', // in production, as the server refuses it
      'security.E006',
      'security.E007',
      'security.E015',
      'security.W016',
    ]);
  });

  it.each<[string, Record<string, string | undefined>, string[]]>([
    ['no SESSION_SECRET', { SESSION_SECRET: undefined }, ['security.E002']],
    ['the development secret', { SESSION_SECRET: DEVELOPMENT_SESSION_SECRET }, ['security.E003']],
    ['a 31-byte secret', { SESSION_SECRET: 'x'.repeat(31) }, ['security.E004']],
    ['a 32-byte secret', { SESSION_SECRET: 'x'.repeat(32) }, []],
    ['16 two-byte characters (32 bytes)', { SESSION_SECRET: 'é'.repeat(16) }, []],
    ['a short old secret still in the rotation', { SESSION_SECRET: `${'x'.repeat(40)},old-one` }, ['security.E004']],
    ['Secure off', { SESSION_COOKIE_SECURE: 'false' }, ['security.E005']],
    ['SameSite=None with Secure', { SESSION_COOKIE_SAMESITE: 'none' }, []],
    [
      'SameSite=None without Secure',
      { SESSION_COOKIE_SAMESITE: 'none', SESSION_COOKIE_SECURE: 'false' },
      ['security.E005', 'security.E006'],
    ],
    ['the cookie domain is the host', { SESSION_COOKIE_DOMAIN: 'api.example.com' }, []],
    ['the cookie domain is a parent', { SESSION_COOKIE_DOMAIN: '.example.com' }, []],
    ['the cookie domain only ends like the host', { SESSION_COOKIE_DOMAIN: 'ample.com' }, ['security.E007']],
    ['the cookie domain is a sibling', { SESSION_COOKIE_DOMAIN: 'www.example.com' }, ['security.E007']],
    ['https without TRUST_PROXY', { TRUST_PROXY: undefined }, ['security.E008']],
    ['https with TRUST_PROXY=false', { TRUST_PROXY: 'false' }, ['security.E008']],
    ['https with a proxy subnet', { TRUST_PROXY: '10.0.0.0/8' }, []],
    // Every hop trusted: any client writes the address the per-address limits count.
    ['every hop trusted', { TRUST_PROXY: 'true' }, ['security.E018']],
    ['every address a proxy', { TRUST_PROXY: '10.0.0.0/8,0.0.0.0/0' }, ['security.E018']],
    ['every hop trusted, acknowledged', { TRUST_PROXY: 'true', TRUST_PROXY_ACKNOWLEDGED: 'true' }, ['security.W019']],
    ['a plain-HTTP PUBLIC_URL with Secure cookies', { PUBLIC_URL: 'http://api.example.com' }, ['security.E009']],
    // express-session sends no Secure cookie on a plain-HTTP request, whatever browsers would accept.
    ['http://localhost with Secure cookies', { PUBLIC_URL: 'http://localhost:4000' }, ['security.E009']],
    // Issue 19, item 11: PUBLIC_URL unset is no claim that the public side is plain HTTP; the proxy's
    // X-Forwarded-Proto: https makes the cookie go out, so logins work.
    ['TRUST_PROXY without PUBLIC_URL', { PUBLIC_URL: undefined }, []],
    // Neither: this server speaks plain HTTP and believes no proxy, so no request ever counts as https.
    [
      'neither PUBLIC_URL nor TRUST_PROXY, Secure on',
      { PUBLIC_URL: undefined, TRUST_PROXY: undefined },
      ['security.E009'],
    ],
    [
      'https without TRUST_PROXY, Secure off (the cookie is sent; client addresses are wrong)',
      { TRUST_PROXY: undefined, SESSION_COOKIE_SECURE: 'false' },
      ['security.E005', 'security.W016'],
    ],
    ['a __Host- cookie kept to its rules', { SESSION_COOKIE_NAME: '__Host-session' }, []],
    [
      'a __Host- cookie with a domain',
      { SESSION_COOKIE_NAME: '__Host-session', SESSION_COOKIE_DOMAIN: 'api.example.com' },
      ['security.E010'],
    ],
    [
      'a __Secure- cookie without Secure',
      { SESSION_COOKIE_NAME: '__Secure-session', SESSION_COOKIE_SECURE: 'false' },
      ['security.E005', 'security.E010'],
    ],
    ['introspection on', { GRAPHQL_INTROSPECTION: 'true' }, ['security.W011']],
    ['the landing page on', { GRAPHQL_LANDING_PAGE: 'true' }, ['security.W012']],
    ['argon2 one KiB under 19 MiB', { ARGON2_MEMORY_KIB: '19455' }, ['security.E013']],
    ['argon2 at 46 MiB and one pass', { ARGON2_MEMORY_KIB: '47104', ARGON2_TIME_COST: '1' }, []],
    ['argon2 at 19 MiB and one pass', { ARGON2_TIME_COST: '1' }, ['security.E013']],
    ['argon2 at 12 MiB and three passes', { ARGON2_MEMORY_KIB: '12288', ARGON2_TIME_COST: '3' }, []],
    ['argon2 at 7 MiB and five passes', { ARGON2_MEMORY_KIB: '7168', ARGON2_TIME_COST: '5' }, []],
    ['weak argon2 that only verifies', { PASSWORD_HASHERS: 'pbkdf2_sha256,argon2', ARGON2_MEMORY_KIB: '64' }, []],
    [
      'PBKDF2 below 600,000 first',
      { PASSWORD_HASHERS: 'pbkdf2_sha256', PBKDF2_ITERATIONS: '599999' },
      ['security.W014'],
    ],
    ['PBKDF2 at 600,000 first', { PASSWORD_HASHERS: 'pbkdf2_sha256', PBKDF2_ITERATIONS: '600000' }, []],
    ['bcrypt below 10 rounds first', { PASSWORD_HASHERS: 'bcrypt_sha256', BCRYPT_ROUNDS: '9' }, ['security.W014']],
    ['CORS * with credentials', { CORS_ORIGINS: '*' }, ['security.E015']],
    ['CORS * without credentials', { CORS_ORIGINS: '*', CORS_CREDENTIALS: 'false' }, []],
    ['CORS for listed origins with credentials', { CORS_ORIGINS: 'https://app.example.com' }, []],
    ['the console mail backend', { SMTP_URL: undefined }, ['mail.W001']],
    ['the lockout off', { LOCKOUT_LIMIT: '0' }, ['security.W017']],
    ['the default reset link', { PASSWORD_RESET_URL: undefined }, ['mail.W002']],
    [
      'NODE_ENV=development, Secure on',
      { NODE_ENV: 'development', SESSION_COOKIE_SECURE: 'true' },
      // Outside production, introspection and Sandbox default to on: --deploy says what production would change.
      ['security.W001', 'security.W011', 'security.W012'],
    ],
  ])('%s', (_, changes, expected) => {
    expect(idsFor(changes).sort()).toEqual([...expected].sort());
  });

  it('gives every problem a message and a hint, and ids that are unique and say their level', () => {
    const results = configChecks(loadConfig(BAD_PRODUCTION, '/srv/app', { forChecks: true }), BAD_PRODUCTION, {
      deploy: true,
    });
    for (const { id, level, message, hint } of results) {
      expect(id).toMatch(level === 'error' ? /^[a-z]+\.E\d{3}$/ : /^[a-z]+\.W\d{3}$/);
      expect(message.length).toBeGreaterThan(20);
      expect(hint.length).toBeGreaterThan(20);
    }
    expect(new Set(results.map((result) => result.id)).size).toBe(results.length);
  });

  it.each([
    ['api.example.com', 'example.com', true],
    ['api.example.com', '.EXAMPLE.com', true],
    ['example.com', 'example.com', true],
    ['badexample.com', 'example.com', false],
    ['10.0.0.5', '0.0.5', false],
    ['10.0.0.5', '10.0.0.5', true],
  ])('domain-matches %s against %s: %s', (host, domain, expected) => {
    expect(domainMatches(host, domain)).toBe(expected);
  });
});

/** The development settings pointed at `testDatabase`. */
function configFor(testDatabase: TestDatabase, env: Record<string, string> = {}): Config {
  const config = loadConfig(env, '/srv/app', { forChecks: true });
  return { ...config, database: { ...testDatabase.config, migrateOnStart: config.database.migrateOnStart } };
}

/** A migrated database of its own, changed by `statements` (then closed: the checks open it themselves). */
async function damagedDatabase(statements: string[]): Promise<TestDatabase> {
  const damaged = await createTestDatabase();
  const database = await openDatabase(damaged.config, testLogger, { migrate: false });
  try {
    for (const statement of statements) await database.orm.em.getConnection().execute(statement);
  } finally {
    await database.close();
  }
  return damaged;
}

describe('systemChecks', () => {
  let testDatabase: TestDatabase;
  beforeAll(async () => {
    testDatabase = await createTestDatabase();
  });
  afterAll(() => testDatabase.drop());

  const ids = async (config: Config, deploy = false, schema?: () => ReturnType<typeof buildSchema>) =>
    (await systemChecks(config, { deploy, logger: testLogger, ...(schema ? { buildSchema: schema } : {}) })).map(
      (result) => result.id,
    );

  it('finds nothing wrong with a migrated database and the project’s schema', async () => {
    expect(await ids(configFor(testDatabase))).toEqual([]);
  });

  it('with --deploy, warns until an active superuser exists', async () => {
    expect(await ids(configFor(testDatabase), true)).toEqual(['auth.W001']);
    // One process at a time may open the embedded database: each step closes it before the checks open it.
    const withDatabase = async (work: (em: EntityManager) => Promise<unknown>) => {
      const database = await openDatabase(testDatabase.config, testLogger, { migrate: false });
      try {
        await work(database.orm.em.fork());
      } finally {
        await database.close();
      }
    };
    await withDatabase((em) =>
      createAuth(configFor(testDatabase)).users.createSuperuser(em, { username: 'boss', password: null }),
    );
    await withDatabase((em) => em.nativeUpdate(User, { username: 'boss' }, { isActive: false }));
    expect(await ids(configFor(testDatabase), true)).toEqual(['auth.W001']);
    await withDatabase((em) => em.nativeUpdate(User, { username: 'boss' }, { isActive: true }));
    expect(await ids(configFor(testDatabase), true)).toEqual([]);
  });

  it('names a schema that cannot be served, and a permission no model defines', async () => {
    const unguarded = () => buildSchema({ typeDefs: ['extend type Query { secret: String }'], resolvers: [] });
    expect(await ids(configFor(testDatabase), false, unguarded)).toEqual(['schema.E001']);
    const typo = () =>
      buildSchema({ typeDefs: ['extend type Query { fly: String @hasPerm(perm: "polls.fly_poll") }'], resolvers: [] });
    const [result] = await systemChecks(configFor(testDatabase), {
      deploy: false,
      logger: testLogger,
      buildSchema: typo,
    });
    expect(result).toMatchObject({
      id: 'schema.E002',
      message: expect.stringContaining('"polls.fly_poll" (Query.fly)'),
    });
  });

  it('warns of pending migrations the server will apply, and fails when it will not', async () => {
    const empty = await createEmptyDatabase();
    try {
      expect(await ids(configFor(empty))).toEqual(['database.W003']);
      expect(await ids(configFor(empty, { MIGRATE_ON_START: 'false' }))).toEqual(['database.E002']);
    } finally {
      await empty.drop();
    }
  });

  it('names a project table that is missing although every migration is applied', async () => {
    // What a migration written by `migration:create` did before it left the project's tables alone.
    const damaged = await damagedDatabase(['DROP TABLE gqlauth_session']);
    try {
      const results = await systemChecks(configFor(damaged), { deploy: true, logger: testLogger });
      expect(results).toEqual([
        expect.objectContaining({
          id: 'database.E003',
          level: 'error',
          message: expect.stringContaining("lacks the project's table(s) gqlauth_session, although"),
        }),
      ]);
    } finally {
      await damaged.drop();
    }
  });

  it('names the auth tables whose authorization-version trigger is missing or disabled', async () => {
    const damaged = await damagedDatabase([
      'DROP TRIGGER gqlauth_authz_version ON auth_user_groups',
      'ALTER TABLE auth_group DISABLE TRIGGER gqlauth_authz_version',
    ]);
    try {
      expect(await systemChecks(configFor(damaged), { deploy: false, logger: testLogger })).toEqual([
        expect.objectContaining({
          id: 'database.E004',
          message: expect.stringContaining('missing or disabled on auth_user_groups, auth_group:'),
        }),
      ]);
    } finally {
      await damaged.drop();
    }
  });

  it('fails when the database cannot be reached, and says where it looked', async () => {
    const config: Config = {
      ...loadConfig({}),
      database: {
        kind: 'server',
        url: 'postgres://app@127.0.0.1:1/app',
        poolSize: 1,
        connectTimeoutMs: 2000,
        migrateOnStart: true,
      },
    };
    const [result, ...rest] = await systemChecks(config, { deploy: false, logger: testLogger });
    expect(rest).toEqual([]);
    expect(result).toMatchObject({ id: 'database.E001', message: expect.stringContaining('127.0.0.1:1/app') });
  });

  it('fails when the Redis session store cannot be reached', async () => {
    const config = configFor(testDatabase, { SESSION_STORE: 'redis', REDIS_URL: 'redis://127.0.0.1:1' });
    expect(await ids(config)).toEqual(['sessions.E001']);
  });

  describeWithRedis('with the run’s Redis', () => {
    it('finds the Redis session store reachable', async () => {
      expect(await ids(configFor(testDatabase, redisStoreEnv()))).toEqual([]);
    });
  });
});

describe('systemChecks: logins that the backends make impossible (issue 20, item 6)', () => {
  let testDatabase: TestDatabase;
  beforeAll(async () => {
    testDatabase = await createTestDatabase();
  });
  afterAll(() => testDatabase.drop());

  /** Creates accounts, then runs the checks with AUTHENTICATION_BACKENDS=`backends`: the auth.* results. */
  async function loginResults(backends: string, accounts: { username: string; email?: string }[] = []) {
    const config = configFor(testDatabase, { AUTHENTICATION_BACKENDS: backends });
    const database = await openDatabase(testDatabase.config, testLogger, { migrate: false });
    try {
      const em = database.orm.em.fork();
      for (const account of accounts)
        await createAuth(config).users.createUser(em, { ...account, password: 'a-password-1' });
    } finally {
      await database.close();
    }
    return (await systemChecks(config, { deploy: false, logger: testLogger }))
      .filter((result) => result.id.startsWith('auth.'))
      .map(({ id, message }) => ({ id, message }));
  }

  it('warns that nobody can log in when only the e-mail backend is on and no account has an address of its own', async () => {
    // An account without a password, or an inactive one, never logs in anyway: it is not counted.
    expect(
      await loginResults('email', [
        { username: 'no-address' },
        { username: 'twin1', email: 'twin@example.com' },
        { username: 'twin2', email: 'TWIN@example.com' },
      ]),
    ).toEqual([
      {
        id: 'auth.W002',
        message:
          'AUTHENTICATION_BACKENDS=email logs in by e-mail address only, and none of the 3 active accounts with a password has an address of its own (no-address, twin1, twin2): nobody can log in.',
      },
    ]);
  });

  it('names the accounts that cannot log in once some can, and says nothing with the model backend on', async () => {
    expect(await loginResults('email', [{ username: 'alice', email: 'alice@example.com' }])).toEqual([
      {
        id: 'auth.W003',
        message:
          'AUTHENTICATION_BACKENDS=email logs in by e-mail address only, and 3 of the 4 active accounts with a password cannot log in: they have no address, or share it with another account (no-address, twin1, twin2).',
      },
    ]);
    expect(await loginResults('model,email')).toEqual([]);
    expect(await loginResults('model')).toEqual([]);
  });
});

describe('manage check, as an operator runs it', () => {
  let testDatabase: TestDatabase;
  beforeAll(async () => {
    testDatabase = await createTestDatabase();
  });
  afterAll(() => testDatabase.drop());

  const check = async (env: Record<string, string>, args: string[]) => {
    const { code, out, err } = await runManage(['check', ...args], { ...databaseEnv(testDatabase), ...env });
    return { code, out, err };
  };

  it('--deploy reports each expected id of a bad production configuration, and exits 1', async () => {
    const { code, out } = await check(BAD_PRODUCTION, ['--deploy', '--json']);
    expect(code).toBe(1);
    const ids = (JSON.parse(out) as { id: string }[]).map((result) => result.id);
    // No superuser in a fresh database: the warning joins the settings' problems.
    expect(ids.sort()).toEqual([...BAD_PRODUCTION_IDS, 'auth.W001'].sort());
  });

  it('--deploy reports no issues for a good one, and exits 0; the text says the same', async () => {
    const superuser = spawnServer(
      {
        ...databaseEnv(testDatabase),
        ...GOOD_PRODUCTION,
        SUPERUSER_USERNAME: 'root',
        SUPERUSER_PASSWORD: 'root-secret-1234',
      },
      { entry: 'src/cli/manage.ts', args: ['createsuperuser', '--no-input'] },
    );
    expect((await timeExit(superuser)).code).toBe(0);
    expect(await check(GOOD_PRODUCTION, ['--deploy'])).toEqual({
      code: 0,
      out: 'System check identified no issues.',
      err: [],
    });
  });

  it('prints errors and warnings with their hints; warnings alone exit 0 unless --fail-level warning', async () => {
    const warned = await check({ ...GOOD_PRODUCTION, SMTP_URL: '' }, ['--deploy']);
    expect(warned.code).toBe(0);
    expect(warned.out).toMatch(/^WARNINGS:\nmail\.W001: MAIL_BACKEND is console.*\n\tHINT: Set SMTP_URL/m);
    expect((await check({ ...GOOD_PRODUCTION, SMTP_URL: '' }, ['--deploy', '--fail-level', 'warning'])).code).toBe(1);
  });

  it('reports a dropped project table by its id and name, and exits 1', async () => {
    const damaged = await damagedDatabase(['DROP TABLE gqlauth_login_failure']);
    try {
      const { code, lines, err } = await runManage(['check'], databaseEnv(damaged));
      expect({ code, err }).toEqual({ code: 1, err: [] });
      expect(lines).toEqual([
        'System check identified some issues:',
        'ERRORS:',
        expect.stringMatching(/^database\.E003: The database lacks the project's table\(s\) gqlauth_login_failure, /),
        expect.stringMatching(/^\tHINT: A migration or a hand-made change dropped them/),
        'System check identified 1 issue.',
      ]);
    } finally {
      await damaged.drop();
    }
  });

  it('passes TRUST_PROXY=1 without PUBLIC_URL, where logins work (issue 19, item 11: it said E009 and exited 1)', async () => {
    const behindProxy = Object.fromEntries(Object.entries(GOOD_PRODUCTION).filter(([name]) => name !== 'PUBLIC_URL'));
    expect(await check(behindProxy, [])).toEqual({ code: 0, out: 'System check identified no issues.', err: [] });
  });

  it('refuses unknown options and reports an unparseable setting as config.E001', async () => {
    const usage = await check({}, ['--depoly']);
    expect(usage.code).toBe(1);
    expect(usage.err[0]).toMatch(/^error: Unknown option '--depoly'/);
    const bad = await check({ PORT: 'eighty' }, []);
    expect(bad.code).toBe(1);
    expect(bad.out).toContain('config.E001: PORT="eighty" is not a whole number');
  });
});

import os from 'node:os';
import { describe, expect, it } from '@jest/globals';
import { ConfigError, DEVELOPMENT_SESSION_SECRET, loadConfig, settings, SETTING_GROUPS } from './index.js';

/** The problems loadConfig reports for an environment, or [] when it accepts it. */
function problems(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(env, '/srv/app');
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

describe('loadConfig', () => {
  it('runs with no environment at all: embedded database, development defaults', () => {
    expect(loadConfig({}, '/srv/app')).toEqual({
      nodeEnv: 'development',
      isProduction: false,
      host: '127.0.0.1',
      port: 4000,
      publicUrl: 'http://localhost:4000',
      trustProxy: false,
      trustProxyAcknowledged: false,
      logLevel: 'info',
      logFormat: 'auto',
      database: { kind: 'embedded', dataDir: '/srv/app/.data', migrateOnStart: true },
      session: {
        secrets: [DEVELOPMENT_SESSION_SECRET],
        cookieName: 'sessionid',
        cookieDomain: undefined,
        cookiePath: '/',
        cookieSecure: false,
        sameSite: 'lax',
        idleTimeoutSeconds: 1_209_600,
        absoluteTimeoutSeconds: 2_592_000,
        touchIntervalSeconds: 60,
        store: { kind: 'postgres' },
      },
      shutdownTimeoutMs: 10_000,
      webConcurrency: 1,
      passwords: {
        hashers: ['argon2', 'pbkdf2_sha256', 'pbkdf2_sha1', 'bcrypt_sha256', 'bcrypt', 'scrypt'],
        argon2: { memoryCost: 19_456, timeCost: 2, parallelism: 1 },
        pbkdf2Iterations: 1_000_000,
        bcryptRounds: 12,
        // One core is left to the event loop.
        hashingConcurrency: Math.max(1, os.availableParallelism() - 1),
        hashingNice: 10,
        validators: ['similarity', 'min_length', 'common', 'numeric'],
        minLength: 8,
      },
      authenticationBackends: ['model'],
      eventListeners: [],
      installedApps: [],
      registrationOpen: false,
      oidc: {
        providers: [],
        linkVerifiedEmail: false,
        redirectBase: 'http://localhost:4000',
        callbackPath: '/auth/oidc/',
        landingUrl: 'http://localhost:4000',
      },
      accessTokens: { maxAgeSeconds: 31_536_000, endWithPassword: true },
      // Unset, the keys that encrypt TOTP secrets are the session secrets.
      secondFactor: {
        encryptionKeys: [DEVELOPMENT_SESSION_SECRET],
        pendingTimeoutSeconds: 300,
        stepUpMaxAgeSeconds: 900,
        issuer: 'graphql-auth-server',
      },
      passwordReset: {
        timeoutSeconds: 259_200,
        urlTemplate: 'http://localhost:4000/reset-password?uid={uid}&token={token}',
      },
      mail: { backend: 'console', from: 'webmaster@localhost' },
      graphql: {
        introspection: true,
        explorer: 'graphiql',
        limits: { depth: 8, aliases: 15, tokens: 1000, cost: 5000, directives: 50 },
        maxBodyBytes: 102_400,
      },
      lockout: {
        limit: 5,
        cooloffSeconds: 900,
        by: 'username_ip',
        accountLimit: 100,
        accountWindowSeconds: 3600,
        deviceCookieName: 'gqlauth_device',
        deviceCookieAgeSeconds: 31_536_000,
        addressLimit: 60,
        addressWindowSeconds: 60,
        addressConcurrency: 1,
        resetEmailLimit: 3,
        resetAddressLimit: 10,
        resetWindowSeconds: 3600,
        secondFactorLimit: 10,
        secondFactorWindowSeconds: 86400,
      },
      audit: { retentionDays: 365, queueLimit: 10_000 },
      cors: undefined,
    });
  });

  it('reads every variable', () => {
    const config = loadConfig(
      {
        NODE_ENV: 'production',
        HOST: '0.0.0.0',
        PORT: '8080',
        PUBLIC_URL: 'https://api.example.com/',
        TRUST_PROXY: '2',
        TRUST_PROXY_ACKNOWLEDGED: 'true',
        LOG_LEVEL: 'debug',
        LOG_FORMAT: 'json',
        DATABASE_URL: 'postgres://app:pw@db.internal:5433/app',
        DATABASE_POOL_SIZE: '20',
        DATABASE_CONNECT_TIMEOUT_MS: '3000',
        MIGRATE_ON_START: 'false',
        SESSION_SECRET: `${'a'.repeat(32)}, ${'b'.repeat(40)}`,
        SESSION_COOKIE_NAME: 'app_session',
        SESSION_COOKIE_DOMAIN: '.example.com',
        SESSION_COOKIE_PATH: '/api',
        SESSION_COOKIE_SAMESITE: 'strict',
        SESSION_IDLE_TIMEOUT: '3600',
        SESSION_ABSOLUTE_TIMEOUT: '86400',
        SESSION_TOUCH_INTERVAL: '30',
        SHUTDOWN_TIMEOUT_MS: '5000',
        WEB_CONCURRENCY: '4',
        PASSWORD_HASHERS: 'pbkdf2_sha256, argon2',
        ARGON2_MEMORY_KIB: '65536',
        ARGON2_TIME_COST: '3',
        ARGON2_PARALLELISM: '4',
        PBKDF2_ITERATIONS: '870000',
        BCRYPT_ROUNDS: '13',
        PASSWORD_HASHING_CONCURRENCY: '3',
        PASSWORD_HASHING_NICE: '0',
        AUTHENTICATION_BACKENDS: 'email,model',
        PASSWORD_VALIDATORS: 'min_length,common',
        PASSWORD_MIN_LENGTH: '12',
        REGISTRATION_OPEN: 'yes',
        OIDC_PROVIDERS: JSON.stringify([
          {
            name: 'corp',
            issuer: 'https://id.example.com',
            clientId: 'app',
            clientSecret: 's3cret',
            scopes: ['email'],
            label: 'Corp',
            trustAmr: true,
          },
        ]),
        OIDC_LINK_VERIFIED_EMAIL: 'true',
        OIDC_REDIRECT_BASE: 'https://example.com/api',
        OIDC_LANDING_URL: 'https://app.example.com/login/done',
        SECRET_ENCRYPTION_KEYS: 'cccccccccccccccccccccccccccccccc, dddddddddddddddddddddddddddddddd',
        SECOND_FACTOR_TIMEOUT: '120',
        STEP_UP_MAX_AGE: '600',
        TOTP_ISSUER: 'Example Inc.',
        SESSION_STORE: 'redis',
        REDIS_URL: 'rediss://:pw@cache.internal:6380/2',
        REDIS_KEY_PREFIX: 'app:',
        PASSWORD_RESET_TIMEOUT: '3600',
        PASSWORD_RESET_URL: 'https://app.example.com/reset/{uid}/{token}/',
        SMTP_URL: 'smtps://mailer:pw@smtp.example.com:465',
        MAIL_FROM: 'Example <no-reply@example.com>',
        GRAPHQL_INTROSPECTION: 'true',
        GRAPHQL_LANDING_PAGE: 'false',
        GRAPHQL_MAX_DEPTH: '12',
        GRAPHQL_MAX_ALIASES: '0',
        GRAPHQL_MAX_TOKENS: '5000',
        GRAPHQL_MAX_COST: '20000',
        GRAPHQL_MAX_DIRECTIVES: '10',
        MAX_BODY_BYTES: '1048576',
        LOCKOUT_LIMIT: '10',
        LOCKOUT_COOLOFF: '3600',
        LOCKOUT_BY: 'ip',
        LOCKOUT_ACCOUNT_LIMIT: '50',
        LOCKOUT_ACCOUNT_WINDOW: '7200',
        LOCKOUT_SECOND_FACTOR_LIMIT: '6',
        LOCKOUT_SECOND_FACTOR_WINDOW: '43200',
        LOCKOUT_DEVICE_COOKIE_NAME: '__Host-device',
        LOCKOUT_DEVICE_COOKIE_AGE: '86400',
        CREDENTIAL_RATE_LIMIT: '30',
        CREDENTIAL_RATE_WINDOW: '120',
        CREDENTIAL_CONCURRENCY: '3',
        PASSWORD_RESET_EMAIL_LIMIT: '2',
        PASSWORD_RESET_ADDRESS_LIMIT: '5',
        PASSWORD_RESET_WINDOW: '600',
        AUDIT_RETENTION_DAYS: '90',
        AUDIT_QUEUE_LIMIT: '500',
        CORS_ORIGINS: 'https://app.example.com, http://localhost:5173',
        CORS_CREDENTIALS: 'false',
      },
      '/srv/app',
    );
    expect(config).toEqual({
      nodeEnv: 'production',
      isProduction: true,
      host: '0.0.0.0',
      port: 8080,
      publicUrl: 'https://api.example.com',
      trustProxy: 2,
      trustProxyAcknowledged: true,
      logLevel: 'debug',
      logFormat: 'json',
      database: {
        kind: 'server',
        url: 'postgres://app:pw@db.internal:5433/app',
        poolSize: 20,
        connectTimeoutMs: 3000,
        migrateOnStart: false,
      },
      session: {
        secrets: ['a'.repeat(32), 'b'.repeat(40)],
        cookieName: 'app_session',
        cookieDomain: '.example.com',
        cookiePath: '/api',
        cookieSecure: true,
        sameSite: 'strict',
        idleTimeoutSeconds: 3600,
        absoluteTimeoutSeconds: 86_400,
        touchIntervalSeconds: 30,
        store: { kind: 'redis', url: 'rediss://:pw@cache.internal:6380/2', keyPrefix: 'app:' },
      },
      shutdownTimeoutMs: 5000,
      webConcurrency: 4,
      passwords: {
        hashers: ['pbkdf2_sha256', 'argon2'],
        argon2: { memoryCost: 65_536, timeCost: 3, parallelism: 4 },
        pbkdf2Iterations: 870_000,
        bcryptRounds: 13,
        hashingConcurrency: 3,
        hashingNice: 0,
        validators: ['min_length', 'common'],
        minLength: 12,
      },
      authenticationBackends: ['email', 'model'],
      eventListeners: [],
      installedApps: [],
      registrationOpen: true,
      oidc: {
        providers: [
          {
            name: 'corp',
            issuer: 'https://id.example.com',
            clientId: 'app',
            clientSecret: 's3cret',
            scopes: ['openid', 'email'],
            label: 'Corp',
            trustAmr: true,
          },
        ],
        linkVerifiedEmail: true,
        redirectBase: 'https://example.com/api',
        callbackPath: '/api/auth/oidc/',
        landingUrl: 'https://app.example.com/login/done',
      },
      accessTokens: { maxAgeSeconds: 31_536_000, endWithPassword: true },
      secondFactor: {
        encryptionKeys: ['cccccccccccccccccccccccccccccccc', 'dddddddddddddddddddddddddddddddd'],
        pendingTimeoutSeconds: 120,
        stepUpMaxAgeSeconds: 600,
        issuer: 'Example Inc.',
      },
      passwordReset: { timeoutSeconds: 3600, urlTemplate: 'https://app.example.com/reset/{uid}/{token}/' },
      mail: {
        backend: 'smtp',
        from: 'Example <no-reply@example.com>',
        smtpUrl: 'smtps://mailer:pw@smtp.example.com:465',
      },
      graphql: {
        introspection: true,
        explorer: 'off',
        limits: { depth: 12, aliases: 0, tokens: 5000, cost: 20_000, directives: 10 },
        maxBodyBytes: 1_048_576,
      },
      lockout: {
        limit: 10,
        cooloffSeconds: 3600,
        by: 'ip',
        accountLimit: 50,
        accountWindowSeconds: 7200,
        deviceCookieName: '__Host-device',
        deviceCookieAgeSeconds: 86_400,
        addressLimit: 30,
        addressWindowSeconds: 120,
        addressConcurrency: 3,
        resetEmailLimit: 2,
        resetAddressLimit: 5,
        resetWindowSeconds: 600,
        secondFactorLimit: 6,
        secondFactorWindowSeconds: 43200,
      },
      audit: { retentionDays: 90, queueLimit: 500 },
      cors: { origins: ['https://app.example.com', 'http://localhost:5173'], credentials: false },
    });
  });

  it('turns introspection and the explorer off in production unless asked', () => {
    const production = { NODE_ENV: 'production', SESSION_SECRET: 's'.repeat(40) };
    expect(loadConfig(production).graphql).toMatchObject({ introspection: false, explorer: 'off' });
    expect(loadConfig({ ...production, GRAPHQL_LANDING_PAGE: 'on' }).graphql).toMatchObject({
      introspection: false,
      explorer: 'graphiql',
    });
    expect(loadConfig({ ...production, GRAPHQL_EXPLORER: 'sandbox' }).graphql.explorer).toBe('sandbox');
  });

  it('chooses the explorer with GRAPHQL_EXPLORER, and keeps GRAPHQL_LANDING_PAGE as its older on/off', () => {
    expect(loadConfig({}).graphql.explorer).toBe('graphiql');
    expect(loadConfig({ GRAPHQL_EXPLORER: 'sandbox' }).graphql.explorer).toBe('sandbox');
    expect(loadConfig({ GRAPHQL_LANDING_PAGE: 'false' }).graphql.explorer).toBe('off');
    expect(loadConfig({ GRAPHQL_LANDING_PAGE: 'true', GRAPHQL_EXPLORER: 'sandbox' }).graphql.explorer).toBe('sandbox');
    expect(() => loadConfig({ GRAPHQL_LANDING_PAGE: 'false', GRAPHQL_EXPLORER: 'graphiql' })).toThrow(
      'GRAPHQL_LANDING_PAGE=false contradicts GRAPHQL_EXPLORER=graphiql: set GRAPHQL_EXPLORER alone (example: GRAPHQL_EXPLORER=graphiql)',
    );
    expect(() => loadConfig({ GRAPHQL_EXPLORER: 'playground' })).toThrow(/^GRAPHQL_EXPLORER="playground" .*graphiql/);
  });

  it.each([
    ['*', { origins: '*', credentials: true }],
    ['https://a.example.com:8443', { origins: ['https://a.example.com:8443'], credentials: true }],
  ])('reads CORS_ORIGINS=%s', (value, expected) => {
    expect(loadConfig({ CORS_ORIGINS: value }).cors).toEqual(expected);
  });

  it.each(['https://app.example.com/', 'app.example.com', 'https://app.example.com/path', ','])(
    'refuses CORS_ORIGINS=%s, which no browser sends as an Origin',
    (value) => {
      expect(problems({ CORS_ORIGINS: value })).toEqual([
        expect.stringMatching(/^CORS_ORIGINS=.* is not \* or a list of origins like https:\/\/app\.example\.com/),
      ]);
    },
  );

  it('returns a frozen object', () => {
    const config = loadConfig({}, '/srv/app');
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.database)).toBe(true);
    expect(Object.isFrozen(config.session)).toBe(true);
    expect(Object.isFrozen(config.session.secrets)).toBe(true);
  });

  it('resolves a relative DATA_DIR against the working directory and keeps an absolute one', () => {
    expect(loadConfig({ DATA_DIR: 'var/db' }, '/srv/app').database).toMatchObject({ dataDir: '/srv/app/var/db' });
    expect(loadConfig({ DATA_DIR: '/data' }, '/srv/app').database).toMatchObject({ dataDir: '/data' });
  });

  it.each([
    ['PORT', 'abc', 'PORT="abc" is not a whole number between 0 and 65535 (example: PORT=4000)'],
    ['PORT', '70000', 'PORT="70000" is not a whole number between 0 and 65535 (example: PORT=4000)'],
    ['PORT', '-1', 'PORT="-1" is not a whole number between 0 and 65535 (example: PORT=4000)'],
    ['NODE_ENV', 'prod', 'NODE_ENV="prod"'],
    ['LOG_LEVEL', 'verbose', 'LOG_LEVEL="verbose"'],
    [
      'MIGRATE_ON_START',
      'maybe',
      'MIGRATE_ON_START="maybe" is not a boolean (use true or false) (example: MIGRATE_ON_START=true)',
    ],
    [
      'PUBLIC_URL',
      'api.example.com',
      'PUBLIC_URL="api.example.com" is not a URL (example: PUBLIC_URL=https://api.example.com)',
    ],
    ['PUBLIC_URL', 'ftp://example.com', 'PUBLIC_URL="ftp://example.com" has scheme "ftp:", expected http: or https:'],
    [
      'DATABASE_URL',
      'mysql://root@localhost/app',
      'DATABASE_URL="mysql://root@localhost/app" has scheme "mysql:", expected postgres:',
    ],
    ['DATABASE_URL', 'postgres://localhost', 'DATABASE_URL="postgres://localhost" must name a host and a database'],
    ['DATABASE_POOL_SIZE', '0', 'DATABASE_POOL_SIZE="0" is not a whole number between 1 and 1000'],
    [
      'TRUST_PROXY',
      'everyone',
      'TRUST_PROXY="everyone" is not true, false, a hop count, or a list of addresses/subnets',
    ],
    ['SHUTDOWN_TIMEOUT_MS', '1.5', 'SHUTDOWN_TIMEOUT_MS="1.5" is not a whole number'],
    [
      'PASSWORD_HASHERS',
      'argon2,md5 hasher',
      'PASSWORD_HASHERS="argon2,md5 hasher" names md5 hasher, which is no name or module path; choose from argon2, pbkdf2_sha256',
    ],
    ['PASSWORD_HASHERS', 'argon2,argon2', 'PASSWORD_HASHERS="argon2,argon2" names one twice'],
    ['BCRYPT_ROUNDS', '3', 'BCRYPT_ROUNDS="3" is not a whole number between 4 and 31'],
    ['PASSWORD_HASHING_CONCURRENCY', '0', 'PASSWORD_HASHING_CONCURRENCY="0" is not a whole number between 1 and 1024'],
    ['PASSWORD_HASHING_NICE', '20', 'PASSWORD_HASHING_NICE="20" is not a whole number between 0 and 19'],
    // A bare name that is no built-in may be a package: whether it loads is for loadExtensions (test/extensions.test.ts).
    [
      'AUTHENTICATION_BACKENDS',
      'LDAP!',
      'AUTHENTICATION_BACKENDS="LDAP!" names LDAP!, which is no name or module path; choose from model, email, or name a module',
    ],
  ])('refuses %s=%s with one line naming it', (name, value, expected) => {
    const found = problems({ [name]: value });
    expect(found).toHaveLength(1);
    expect(found[0]).toContain(expected);
    expect(found[0]).toMatch(new RegExp(`^${name}=.*\\(example: ${name}=.+\\)$`));
  });

  it('reports every bad variable at once, one line each', () => {
    expect(problems({ PORT: 'x', LOG_LEVEL: 'loud', MIGRATE_ON_START: 'perhaps' }).map((p) => p.split('=')[0])).toEqual(
      ['PORT', 'LOG_LEVEL', 'MIGRATE_ON_START'],
    );
  });

  it('never echoes a password or a session secret in an error', () => {
    const [databaseProblem] = problems({ DATABASE_URL: 'mysql://root:hunter2@localhost/app' });
    expect(databaseProblem).not.toContain('hunter2');
    expect(databaseProblem).toContain('***');
    const [queryProblem] = problems({ DATABASE_URL: 'mysql://localhost/app?password=hunter2&sslpassword=hunter3' });
    expect(queryProblem).not.toMatch(/hunter[23]/);
    for (const [name, value] of [
      ['REDIS_URL', 'http://:hunter2@cache'],
      ['SMTP_URL', 'http://user:hunter2@mail'],
    ]) {
      const [problem] = problems({ [name as string]: value as string });
      expect(problem).toMatch(new RegExp(`^${name}=.*\\*\\*\\*`));
      expect(problem).not.toContain('hunter2');
    }
    const [secretProblem] = problems({ NODE_ENV: 'production', SESSION_SECRET: 'short-secret-hunter2' });
    expect(secretProblem).not.toContain('hunter2');
    expect(secretProblem).toMatch(/^SESSION_SECRET /);
  });

  it('requires a strong SESSION_SECRET in production, and only there', () => {
    expect(problems({ NODE_ENV: 'production' })).toEqual([
      expect.stringMatching(/^SESSION_SECRET is required when NODE_ENV=production/),
    ]);
    expect(problems({ NODE_ENV: 'production', SESSION_SECRET: DEVELOPMENT_SESSION_SECRET })).toHaveLength(1);
    expect(problems({ NODE_ENV: 'production', SESSION_SECRET: `${'k'.repeat(32)},tooshort` })).toHaveLength(1);
    expect(problems({ NODE_ENV: 'production', SESSION_SECRET: 'k'.repeat(32) })).toEqual([]);
    expect(problems({ NODE_ENV: 'development', SESSION_SECRET: 'short' })).toEqual([]);
  });

  it('requires strong SECRET_ENCRYPTION_KEYS in production when they are given (they encrypt TOTP secrets)', () => {
    const production = { NODE_ENV: 'production', SESSION_SECRET: 'k'.repeat(32) };
    expect(problems({ ...production, SECRET_ENCRYPTION_KEYS: `${'e'.repeat(32)},tooshort` })).toEqual([
      expect.stringMatching(/^SECRET_ENCRYPTION_KEYS has 1 key\(s\) shorter than 32 characters/),
    ]);
    expect(problems({ ...production, SECRET_ENCRYPTION_KEYS: 'e'.repeat(32) })).toEqual([]);
    expect(problems({ SECRET_ENCRYPTION_KEYS: 'tooshort' })).toEqual([]);
  });

  it('refuses TRUST_PROXY=true in production unless TRUST_PROXY_ACKNOWLEDGED=true says every hop is a proxy', () => {
    const production = { NODE_ENV: 'production', SESSION_SECRET: 'k'.repeat(32) };
    expect(problems({ ...production, TRUST_PROXY: 'true' })).toEqual([expect.stringMatching(/^TRUST_PROXY=true /)]);
    expect(problems({ ...production, TRUST_PROXY: 'true', TRUST_PROXY_ACKNOWLEDGED: 'true' })).toEqual([]);
    expect(problems({ ...production, TRUST_PROXY: '1' })).toEqual([]);
    expect(problems({ NODE_ENV: 'development', TRUST_PROXY: 'true' })).toEqual([]);
    // A subnet that holds every address trusts every hop as well.
    expect(problems({ ...production, TRUST_PROXY: '10.0.0.0/8,0.0.0.0/0' })).toHaveLength(1);
    expect(problems({ ...production, TRUST_PROXY: '::/0' })).toHaveLength(1);
  });

  it('refuses a device cookie named as the session cookie', () => {
    expect(problems({ LOCKOUT_DEVICE_COOKIE_NAME: 'sessionid' })).toEqual([
      expect.stringMatching(/^LOCKOUT_DEVICE_COOKIE_NAME is SESSION_COOKIE_NAME/),
    ]);
    expect(problems({ SESSION_COOKIE_NAME: 'gqlauth_device' })).toHaveLength(1);
    expect(problems({ SESSION_COOKIE_NAME: 'app', LOCKOUT_DEVICE_COOKIE_NAME: 'app_device' })).toEqual([]);
  });

  it.each([
    ['true', true],
    ['off', false],
    ['1', 1],
    ['3', 3],
    ['loopback', ['loopback']],
    ['10.0.0.0/8, 192.168.1.7,loopback', ['10.0.0.0/8', '192.168.1.7', 'loopback']],
    ['::1', ['::1']],
  ])('reads TRUST_PROXY=%s as Express expects', (value, expected) => {
    expect(loadConfig({ TRUST_PROXY: value }).trustProxy).toEqual(expected);
  });

  it.each(['constructor', '__proto__', 'toString'])('is not fooled by %s, an inherited key', (word) => {
    expect(problems({ MIGRATE_ON_START: word })).toHaveLength(1);
    expect(problems({ TRUST_PROXY: word })).toHaveLength(1);
  });

  it('refuses a touch interval that is not shorter than the idle timeout', () => {
    expect(problems({ SESSION_IDLE_TIMEOUT: '600', SESSION_TOUCH_INTERVAL: '600' })).toEqual([
      'SESSION_TOUCH_INTERVAL=600 is not shorter than SESSION_IDLE_TIMEOUT=600 (example: SESSION_TOUCH_INTERVAL=60)',
    ]);
    expect(problems({ SESSION_IDLE_TIMEOUT: '600', SESSION_TOUCH_INTERVAL: '599' })).toEqual([]);
  });

  it('needs REDIS_URL for the Redis session store and SMTP_URL for the SMTP mail backend', () => {
    expect(problems({ SESSION_STORE: 'redis' })).toEqual([
      'REDIS_URL is required when SESSION_STORE=redis (example: REDIS_URL=redis://127.0.0.1:6379/0)',
    ]);
    expect(problems({ MAIL_BACKEND: 'smtp' })).toEqual([
      'SMTP_URL is required when MAIL_BACKEND=smtp (example: SMTP_URL=smtps://user:password@smtp.example.com:465)',
    ]);
    // An SMTP_URL alone chooses SMTP; MAIL_BACKEND=console keeps the console with it set.
    expect(loadConfig({ SMTP_URL: 'smtp://localhost:2525' }).mail.backend).toBe('smtp');
    expect(loadConfig({ SMTP_URL: 'smtp://localhost:2525', MAIL_BACKEND: 'console' }).mail.backend).toBe('console');
    // REDIS_URL without SESSION_STORE=redis changes nothing.
    expect(loadConfig({ REDIS_URL: 'redis://127.0.0.1:6379' }).session.store).toEqual({ kind: 'postgres' });
  });

  it.each([
    ['https://app.example.com/reset', 'must contain {uid} and {token}'],
    ['app.example.com/{uid}/{token}', 'is not an http: or https: URL'],
    ['ftp://app.example.com/{uid}/{token}', 'is not an http: or https: URL'],
  ])('refuses PASSWORD_RESET_URL=%s', (value, message) => {
    expect(problems({ PASSWORD_RESET_URL: value })).toEqual([
      `PASSWORD_RESET_URL="${value}" ${message} (example: PASSWORD_RESET_URL=https://app.example.com/reset/{uid}/{token})`,
    ]);
  });

  it('makes session cookies Secure in production unless told otherwise', () => {
    const production = { NODE_ENV: 'production', SESSION_SECRET: 's'.repeat(32) };
    expect(loadConfig(production).session.cookieSecure).toBe(true);
    expect(loadConfig({ ...production, SESSION_COOKIE_SECURE: 'false' }).session.cookieSecure).toBe(false);
    expect(loadConfig({ SESSION_COOKIE_SECURE: 'true' }).session.cookieSecure).toBe(true);
  });

  it('treats an empty variable as unset', () => {
    expect(loadConfig({ PORT: '', DATABASE_URL: '' }, '/srv/app')).toMatchObject({
      port: 4000,
      database: { kind: 'embedded' },
    });
  });
});

describe('the settings, each declared once', () => {
  const declared = Object.entries(settings);

  it.each(declared)('%s has a group, a documentation and an example its own parser accepts', (name, setting) => {
    expect(Object.keys(SETTING_GROUPS)).toContain(setting.group);
    expect(setting.doc.length).toBeGreaterThan(10);
    expect([name, setting.parse.safeParse(setting.example).success]).toEqual([name, true]);
  });

  it.each(declared)('%s has either a default its parser accepts or words for why it has none', (name, setting) => {
    if (setting.default === undefined) expect(setting.unset).toMatch(/^\(.+\)$/);
    else {
      expect(setting.unset).toBeUndefined();
      expect([name, setting.parse.safeParse(setting.default).success]).toEqual([name, true]);
    }
  });

  it.each(declared.filter(([, setting]) => setting.default !== undefined))(
    'reads %s set to its documented default as if it were unset',
    (name, setting) => {
      expect(loadConfig({ [name]: setting.default ?? '' }, '/srv/app')).toEqual(loadConfig({}, '/srv/app'));
    },
  );
});

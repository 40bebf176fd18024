/**
 * A property of the whole schema, generated from the schema itself: whatever text a client puts in any String or ID
 * argument of any Query or Mutation field (inside input objects and lists too), the answer is never
 * INTERNAL_SERVER_ERROR nor a 500, no unexpected error is logged, and a call refused (BAD_USER_INPUT, or a document
 * refused at parsing or validation) changes no row of any table.
 *
 * Each argument gets hostile text: a NUL, lone surrogates, exactly its @maxLength and one more, every varchar length
 * of the database and one more (so that a column whose argument lacks its bound is found), 10,000 characters, astral
 * characters (their UTF-16 length is twice their length in code points), text that grows when normalized ("ﬁ", "İ"),
 * SQL and LIKE wildcards, placeholders, blank text; as variables, and the first ones as literals too. Then random
 * strings from a seeded generator: the seed is printed, named in every failure, and INPUT_PROPERTY_SEED=<seed>
 * replays it. The other arguments get plausible values, and each field's plain call is checked to succeed first, so
 * that hostile text goes as far as it can: into the database. Everything is sent over HTTP as a superuser, so that
 * authorization stops nothing; login and register from a fresh client, and changePassword from a user of its own,
 * so that no call ends the session the others use.
 */
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  GraphQLBoolean,
  GraphQLFloat,
  GraphQLID,
  GraphQLInt,
  getNamedType,
  isCompositeType,
  isInputObjectType,
  isListType,
  isNonNullType,
  isScalarType,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLObjectType,
  type GraphQLSchema,
} from 'graphql';
import { Secret, TOTP } from 'otpauth';
import { systemClock } from '../../src/auth/clock.js';
import { createAuth } from '../../src/auth/index.js';
import { RecoveryCodes } from '../../src/auth/recovery-codes.js';
import { SecretBox } from '../../src/auth/secret-box.js';
import { TotpDevices } from '../../src/auth/totp-devices.js';
import { encodeUid } from '../../src/auth/password-reset.js';
import { codePoints } from '../../src/auth/text.js';
import { selectAll, selectOne } from '../../src/db/sql.js';
import { cursorOf } from '../../src/graphql/ids.js';
import { textBoundOf } from '../../src/graphql/input-text.js';
import { pollsSchema } from '../support/polls.js';
import { createLogger } from '../../src/logger.js';
import { CHEAP_HASHING } from '../support/auth.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { HttpClient, type GraphQLResponse } from '../support/http-client.js';
import { loggedInClient } from '../support/sessions.js';
import { startOidcProvider, type TestOidcProvider } from '../support/oidc-provider.js';

const SEED = Number(process.env.INPUT_PROPERTY_SEED ?? Date.now() % 2 ** 31);
/** Random strings per argument: with the fixed ones, about 2,000 calls in all (about 40 seconds). */
const RANDOM_PER_ARGUMENT = 6;
/** The fixed hostile values sent as literals as well as variables (the rest only as variables, for time). */
const AS_LITERALS = 3;
const PASSWORD = 'a-fresh-passphrase-9';
/** Answers that refuse the call before or while it runs: after one of them, every table must be as it was. */
const REFUSALS = new Set(['BAD_USER_INPUT', 'GRAPHQL_VALIDATION_FAILED', 'GRAPHQL_PARSE_FAILED']);

type Path = readonly (string | number)[];
type Args = Record<string, unknown>;

/** One text argument or input field of a root field, reached by `path` from the field's arguments. */
interface TextArgument {
  readonly path: Path;
  /** As the server names it in an issue: `input.email`, `choices[0]`. */
  readonly name: string;
  /** Its @maxLength, or the default bound. */
  readonly bound: number;
  readonly isId: boolean;
}

interface RootField {
  readonly coordinate: string;
  readonly operation: 'query' | 'mutation';
  readonly field: GraphQLField<unknown, unknown>;
  readonly texts: TextArgument[];
}

const NOT_TEXT = new Set([GraphQLInt.name, GraphQLFloat.name, GraphQLBoolean.name]);

function nameOf(path: Path): string {
  return path.map((step, index) => (typeof step === 'number' ? `[${step}]` : index === 0 ? step : `.${step}`)).join('');
}

/** Every text argument and input field under `type`, lists and input objects walked (each input type once a path). */
function textsIn(schema: GraphQLSchema, type: GraphQLInputType, path: Path, bound: number, seen: string[]) {
  const found: TextArgument[] = [];
  if (isNonNullType(type)) return textsIn(schema, type.ofType, path, bound, seen);
  if (isListType(type)) return textsIn(schema, type.ofType, [...path, 0], bound, seen);
  if (isInputObjectType(type)) {
    if (seen.includes(type.name)) return found;
    for (const field of Object.values(type.getFields()))
      found.push(
        ...textsIn(schema, field.type, [...path, field.name], textBoundOf(schema, field).n, [...seen, type.name]),
      );
  } else if (isScalarType(type) && !NOT_TEXT.has(type.name)) {
    found.push({ path, name: nameOf(path), bound, isId: type.name === GraphQLID.name });
  }
  return found;
}

function fieldsWithText(schema: GraphQLSchema, type: GraphQLObjectType, operation: 'query' | 'mutation') {
  return Object.values(type.getFields())
    .map((field) => ({
      coordinate: `${type.name}.${field.name}`,
      operation,
      field,
      texts: field.args.flatMap((argument) =>
        textsIn(schema, argument.type, [argument.name], textBoundOf(schema, argument).n, []),
      ),
    }))
    .filter((root) => root.texts.length > 0);
}

const schema = pollsSchema();
const roots: RootField[] = [
  ...fieldsWithText(schema, schema.getQueryType() as GraphQLObjectType, 'query'),
  ...fieldsWithText(schema, schema.getMutationType() as GraphQLObjectType, 'mutation'),
];

/** mulberry32: small, seeded, and the same sequence on every machine. */
function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = Math.imul(state ^ (state >>> 15), state | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** The run's seed mixed with a name: each argument its own sequence, so one field's test replays alone (-t). */
function seedFor(name: string): number {
  let hash = SEED;
  for (const char of name) hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193) >>> 0;
  return hash;
}

const SPECIAL = [
  "'",
  '"',
  '\\',
  '%',
  '_',
  '?',
  '??',
  '$1',
  ':name',
  ';',
  '--',
  '/*',
  '*/',
  'İ',
  'ﬁ',
  '\u202e',
  '\u200b',
];
const SPACES = [' ', '\t', '\n', '\r', '\u00a0', '\u2028', '\u3000', '\ufeff'];

/** One random piece of text: mostly plain characters, sometimes what breaks things. */
function randomPiece(random: () => number): string {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const between = (low: number, high: number) => low + Math.floor(random() * (high - low + 1));
  const kind = random();
  if (kind < 0.45) return String.fromCharCode(between(0x20, 0x7e));
  if (kind < 0.55) return pick(SPACES);
  if (kind < 0.63) return pick(SPECIAL);
  if (kind < 0.7) return String.fromCodePoint(between(0x1f300, 0x1faff));
  if (kind < 0.75) return String.fromCodePoint(between(0x10000, 0x10ffff));
  if (kind < 0.8) return String.fromCharCode(between(0x0300, 0x036f));
  if (kind < 0.9) return String.fromCharCode(between(0x00a0, 0xd7ff));
  if (kind < 0.95) return String.fromCharCode(between(0xd800, 0xdfff)); // a lone surrogate
  return String.fromCharCode(between(0, 0x1f)); // NUL included
}

/** A random string: short, around the bound, or long; now and then the plausible value with random text inside. */
function randomText(random: () => number, plausible: string, bound: number): string {
  const size = random();
  const length =
    size < 0.4
      ? Math.floor(random() * 16)
      : size < 0.7
        ? Math.floor(random() * 300)
        : size < 0.9
          ? bound - 3 + Math.floor(random() * 7)
          : 1000 + Math.floor(random() * 11_000);
  let text = '';
  while (codePoints(text) < length) text += randomPiece(random);
  if (random() < 0.5) return text;
  const at = Math.floor(random() * (plausible.length + 1));
  return `${plausible.slice(0, at)}${text.slice(0, Math.max(0, bound - codePoints(plausible)))}${plausible.slice(at)}`;
}

/** `plausible` padded with `pad` to `length` code points, at its start or its end. */
function padded(plausible: string, length: number, pad: string, side: 'start' | 'end'): string {
  const padding = pad.repeat(Math.max(0, length - codePoints(plausible)));
  return side === 'start' ? `${padding}${plausible}` : `${plausible}${padding}`;
}

/** The fixed hostile values for one argument, each with a name; the first AS_LITERALS are sent as literals too. */
function hostileTexts(plausible: string, bound: number, columnLengths: readonly number[]): [string, string][] {
  const middle = Math.floor(plausible.length / 2);
  return [
    ['a NUL inside', `${plausible.slice(0, middle)}\u0000${plausible.slice(middle)}`],
    ['one more than its bound', padded(plausible, bound + 1, 'a', 'end')],
    ['SQL', `${plausible}'; DROP TABLE auth_user; --`],
    ['exactly its bound', padded(plausible, bound, 'a', 'end')],
    // Twice as long in UTF-16 as in code points: a bound counted in UTF-16 units would refuse what the column takes.
    ['its bound in astral characters', padded(plausible, bound, '🙂', 'start')],
    ['one more than its bound in astral characters', padded(plausible, bound + 1, '🙂', 'start')],
    // Longer once normalized: NFKC makes "ﬁ" two characters (usernames), lower-casing "İ" two (e-mail domains).
    ['its bound in a ligature NFKC doubles', padded(plausible, bound, 'ﬁ', 'end')],
    ['its bound in a capital that lower-cases to two', padded(plausible, bound, 'İ', 'end')],
    ['a NUL alone', '\u0000'],
    ['a lone high surrogate', `${plausible}\ud800`],
    ['a lone low surrogate', `\udc00${plausible}`],
    ['surrogates the wrong way round', '\udc00\ud800'],
    ['control characters', `${plausible}\u0001\u001f\u007f`],
    ['LIKE wildcards', `%${plausible}_\\`],
    ['only wildcards', '%_\\'],
    ['placeholders', `${plausible}?$1:name??`],
    ['blank', '   '],
    ['other blanks', '\t\n\r\u00a0\u2003\u3000'],
    ['empty', ''],
    ['zero-width and right-to-left marks', `\u200b${plausible}\u202e`],
    ['ten thousand characters', padded(plausible, 10_000, 'a', 'end')],
    // Whatever the argument's declared bound: a column whose argument lacks its @maxLength is found here.
    ...columnLengths.map((length): [string, string] => [
      `one more than a varchar(${length})`,
      padded(plausible, length + 1, 'a', 'end'),
    ]),
  ];
}

/** `args` with the value at `path` replaced (a list becomes the one item under attack). */
function withValueAt(args: unknown, path: Path, value: unknown): unknown {
  const [step, ...rest] = path;
  if (step === undefined) return value;
  if (typeof step === 'number') return [withValueAt(undefined, rest, value)];
  const object = typeof args === 'object' && args !== null ? (args as Args) : {};
  return { ...object, [step]: withValueAt(object[step], rest, value) };
}

function valueAt(args: unknown, path: Path): unknown {
  let value = args;
  for (const step of path)
    value = Array.isArray(value) || typeof value === 'object' ? (value as Args)[step] : undefined;
  return value;
}

/** A GraphQL literal of a JSON value (JSON's string escapes are GraphQL's). */
function literal(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(literal).join(', ')}]`;
  if (typeof value === 'object' && value !== null)
    return `{ ${Object.entries(value)
      .map(([key, inner]) => `${key}: ${literal(inner)}`)
      .join(', ')} }`;
  return JSON.stringify(value);
}

/** The operation calling `root` with `args`, as variables or as literals. */
function operationOf(root: RootField, args: Args, as: 'variables' | 'literals'): [string, Args | undefined] {
  const given = root.field.args.filter((argument) => args[argument.name] !== undefined);
  const selection = isCompositeType(getNamedType(root.field.type)) ? ' { __typename }' : '';
  const call = (value: (name: string) => string) =>
    given.length === 0
      ? root.field.name
      : `${root.field.name}(${given.map((a) => `${a.name}: ${value(a.name)}`).join(', ')})`;
  if (as === 'literals') return [`${root.operation} { ${call((name) => literal(args[name]))}${selection} }`, undefined];
  const definitions = given.map((argument) => `$${argument.name}: ${argument.type.toString()}`).join(', ');
  const head = definitions ? `${root.operation} (${definitions})` : root.operation;
  return [
    `${head} { ${call((name) => `$${name}`)}${selection} }`,
    Object.fromEntries(given.map((a) => [a.name, args[a.name]])),
  ];
}

/** What a failure shows of a value: its name, or the start of it. */
function shown(label: string, value: string): string {
  return label === 'random' ? `random ${JSON.stringify(value.slice(0, 60))} (${value.length} UTF-16 units)` : label;
}

describe('text in every argument of the schema', () => {
  let app: TestApp;
  /** The OpenID Connect provider `test`: its discovery answers, so that oidcLoginUrl's plain call works. */
  let provider: TestOidcProvider;
  let root: HttpClient;
  let changer: HttpClient;
  /** Turns its TOTP on and off (confirmTotp, disableTotp). */
  let enroller: HttpClient;
  let changerPassword = 'changer-password-1';
  const ids: Record<string, string> = {};
  const errorsLogged: string[] = [];
  let columnLengths: number[] = [];
  let snapshotSql = '';
  /** The tables as the last call left them: the next call's "before", unless a fixture was made since. */
  let lastSnapshot: Record<string, string> | undefined;
  let counter = 0;
  const unique = (prefix: string) => `${prefix}${++counter}`;

  const em = () => app.database.orm.em.fork();
  const create = async (query: string, variables: Args): Promise<string> => {
    lastSnapshot = undefined;
    const { body } = await root.graphql<Record<string, { id: string }>>(query, variables);
    const made = Object.values(body.data ?? {})[0];
    if (!made) throw new Error(`fixture not made: ${JSON.stringify(body.errors)}`);
    return made.id;
  };
  const newPoll = () =>
    create('mutation ($q: String!) { createPoll(question: $q, choices: ["Yes"]) { id } }', { q: 'Fixture?' });
  const newGroup = () => create('mutation ($n: String!) { createGroup(name: $n) { id } }', { n: unique('fixture') });
  const newUser = () =>
    create('mutation ($u: String!) { createUser(input: { username: $u }) { id } }', { u: unique('doomed') });
  /** A new session of the user `watched` (or root), in a browser of its own: its public id, as staff list it. */
  const sessionOf = async (username: 'watched' | 'root'): Promise<string> => {
    lastSnapshot = undefined;
    await loggedInClient(app.url, username, `${username}-password-1`);
    const { body } = await root.graphql<{ userSessions: { id: string }[] }>(
      'query ($u: ID!) { userSessions(userId: $u) { id } }',
      { u: ids[username] },
    );
    // Most recently active first: the session just started (no session is touched during the run).
    const [newest] = body.data?.userSessions ?? [];
    if (!newest) throw new Error(`fixture not made: ${JSON.stringify(body.errors)}`);
    return newest.id;
  };
  /** A superuser's browser of its own for each impersonate call: once it impersonates, it is someone else's. */
  let impersonator: HttpClient | undefined;
  /** An access token of root's, made for a call that revokes it. */
  const newToken = async (): Promise<string> => {
    lastSnapshot = undefined;
    const { body } = await root.graphql<{ createAccessToken: { accessToken: { id: string } } }>(
      'mutation { createAccessToken(input: { name: "fixture" }) { accessToken { id } } }',
    );
    const made = body.data?.createAccessToken.accessToken.id;
    if (!made) throw new Error(`fixture not made: ${JSON.stringify(body.errors)}`);
    return made;
  };
  /** The TOTP devices and recovery codes of the server (its keys, its clock: the real one). */
  const secondFactor = () => {
    const box = new SecretBox(app.config.secondFactor.encryptionKeys);
    return {
      devices: new TotpDevices(box, { issuer: 'test' }, systemClock),
      codes: new RecoveryCodes(box, systemClock),
    };
  };
  /** A new TOTP secret for `username`, not yet confirmed (any device before removed): a code that confirms it. */
  const totpEnrolled = async (username: string): Promise<string> => {
    lastSnapshot = undefined;
    const { devices } = secondFactor();
    const id = Number(ids[username]);
    await devices.remove(em(), id);
    const enrolled = await devices.enroll(em(), { id, username });
    return TOTP.generate({ secret: Secret.fromBase32(enrolled?.secret ?? '') });
  };
  /** TOTP on for `username` with a new secret: a code not used yet (the next step's), and recovery codes. */
  const totpOn = async (username: string): Promise<{ next: string; recoveryCodes: string[] }> => {
    const { devices, codes } = secondFactor();
    const id = Number(ids[username]);
    await devices.remove(em(), id);
    const enrolled = await devices.enroll(em(), { id, username });
    const secret = Secret.fromBase32(enrolled?.secret ?? '');
    if (!(await devices.confirm(em(), id, TOTP.generate({ secret })))) throw new Error('fixture not made: TOTP');
    lastSnapshot = undefined;
    return {
      next: TOTP.generate({ secret, timestamp: Date.now() + 30_000 }),
      recoveryCodes: await codes.regenerate(em(), id),
    };
  };
  /** A browser whose password login as `twofa` waits for its second factor. */
  let pending: HttpClient | undefined;
  const pendingLogin = async (): Promise<void> => {
    lastSnapshot = undefined;
    pending = new HttpClient(app.url);
    await pending.graphql('mutation { login(username: "twofa", password: "twofa-password-1") { id } }');
  };

  /** A reset token for the user `forgetful`, valid now. */
  const resetToken = async () => {
    const row = await selectOne<{ id: number; password: string; last_login: Date | null; email: string }>(
      em(),
      'SELECT id, password, last_login, email FROM auth_user WHERE id = ?',
      [Number(ids.forgetful)],
    );
    if (!row) throw new Error('no forgetful user');
    return createAuth(app.config).passwordReset.token({ ...row, lastLogin: row.last_login });
  };

  /**
   * For each field with text arguments: arguments that work, given which one is under attack (grantPermission takes
   * a user or a group, not both). Ids are of rows made for the test; what a call deletes is made for that call.
   */
  const plausible: Record<string, (attacked: string) => Promise<Args> | Args> = {
    'Query.users': () => ({ search: 'victim', after: cursorOf(1) }),
    'Query.auditEvents': () => ({ after: cursorOf(1) }),
    'Query.user': () => ({ id: ids.victim }),
    'Query.polls': () => ({ after: cursorOf(ids.poll ?? '') }),
    'Query.poll': () => ({ id: ids.poll }),
    'Mutation.login': () => ({ username: 'signer', password: 'signer-password-1' }),
    'Mutation.changePassword': () => ({ oldPassword: changerPassword, newPassword: unique(PASSWORD) }),
    'Mutation.register': () => ({
      input: { username: unique('newcomer'), email: 'newcomer@example.com', password: PASSWORD, firstName: 'New' },
    }),
    'Mutation.requestPasswordReset': () => ({ email: 'victim@example.com' }),
    'Mutation.resetPassword': async () => ({
      uid: encodeUid(Number(ids.forgetful)),
      token: await resetToken(),
      newPassword: unique(PASSWORD),
    }),
    'Mutation.createUser': () => ({
      input: { username: unique('made'), email: 'made@example.com', password: PASSWORD, firstName: 'Made' },
    }),
    'Mutation.updateUser': () => ({
      id: ids.victim,
      input: { email: 'victim@example.com', firstName: 'Vic', lastName: 'Tim' },
    }),
    'Mutation.setUserPassword': () => ({ id: ids.victim, password: unique(PASSWORD) }),
    'Mutation.deleteUser': async () => ({ id: await newUser() }),
    'Mutation.createGroup': () => ({ name: unique('group'), permissions: ['polls.view_poll'] }),
    'Mutation.deleteGroup': async () => ({ id: await newGroup() }),
    'Mutation.addUserToGroup': () => ({ userId: ids.victim, groupId: ids.group }),
    'Mutation.removeUserFromGroup': () => ({ userId: ids.victim, groupId: ids.group }),
    'Mutation.grantPermission': (attacked) =>
      attacked === 'groupId'
        ? { perm: 'polls.view_poll', groupId: ids.group }
        : { perm: 'polls.view_poll', userId: ids.victim },
    'Mutation.revokePermission': (attacked) =>
      attacked === 'groupId'
        ? { perm: 'polls.view_poll', groupId: ids.group }
        : { perm: 'polls.view_poll', userId: ids.victim },
    'Mutation.createPoll': () => ({ question: 'What now?', choices: ['This', 'That'] }),
    'Mutation.updatePoll': () => ({ id: ids.poll, question: 'What now?' }),
    'Mutation.deletePoll': async () => ({ id: await newPoll() }),
    'Mutation.addChoice': () => ({ pollId: ids.poll, text: 'Another' }),
    'Mutation.vote': () => ({ choiceId: ids.choice }),
    'Query.userSessions': () => ({ userId: ids.watched }),
    'Mutation.endSession': async () => ({ id: await sessionOf('root') }),
    'Mutation.endUserSession': async () => ({ userId: ids.watched, id: await sessionOf('watched') }),
    'Mutation.impersonate': async () => {
      lastSnapshot = undefined;
      impersonator = await loggedInClient(app.url, 'root', 'root-password-1');
      return { userId: ids.victim };
    },
    'Query.accessTokens': () => ({ userId: ids.victim }),
    'Mutation.createAccessToken': () => ({
      input: {
        name: unique('script'),
        scopes: ['polls.view_poll'],
        expiresAt: new Date(Date.now() + 86_400_000).toISOString(),
      },
    }),
    'Mutation.revokeAccessToken': async () => ({ id: await newToken() }),
    'Mutation.oidcLoginUrl': () => ({ provider: 'test' }),
    'Mutation.oidcLinkUrl': () => ({ provider: 'test' }),
    'Mutation.unlinkExternalIdentity': () => ({ provider: 'test' }),
    // The second factor: each call gets the state its plain call needs, made anew (a code is good once).
    'Mutation.confirmTotp': async () => ({ code: await totpEnrolled('enroller') }),
    'Mutation.disableTotp': async () => ({ password: 'enroller-password-1', code: (await totpOn('enroller')).next }),
    'Mutation.regenerateRecoveryCodes': async () => ({
      password: 'enroller-password-1',
      code: (await totpOn('enroller')).next,
    }),
    // Root has no TOTP: the code is not asked for, and its text goes unread.
    'Mutation.reauthenticate': () => ({ password: 'root-password-1', code: '123456' }),
    'Mutation.resetUserSecondFactor': async () => {
      await totpOn('lost');
      return { userId: ids.lost };
    },
    'Mutation.verifyTotp': async () => {
      const { next } = await totpOn('twofa');
      await pendingLogin();
      return { code: next };
    },
    'Mutation.verifyRecoveryCode': async () => {
      const { recoveryCodes } = await totpOn('twofa');
      await pendingLogin();
      return { code: recoveryCodes[0] };
    },
  };

  /** The client a field is called from: its own for what starts or changes the caller's session. */
  const clientFor = (coordinate: string): HttpClient =>
    coordinate === 'Mutation.login' || coordinate === 'Mutation.register'
      ? new HttpClient(app.url)
      : coordinate === 'Mutation.changePassword'
        ? changer
        : coordinate === 'Mutation.impersonate'
          ? (impersonator ?? root)
          : ['Mutation.confirmTotp', 'Mutation.disableTotp', 'Mutation.regenerateRecoveryCodes'].includes(coordinate)
            ? enroller
            : coordinate === 'Mutation.verifyTotp' || coordinate === 'Mutation.verifyRecoveryCode'
              ? (pending ?? root)
              : root;

  /** Every table's rows, as a count and a sum of row hashes each (no sort: one snapshot per call stays cheap). */
  const snapshot = async (): Promise<Record<string, string>> =>
    (await selectOne<Record<string, string>>(em(), snapshotSql)) ?? {};

  beforeAll(async () => {
    console.log(`input property seed: ${SEED} (INPUT_PROPERTY_SEED=${SEED} replays this run)`);
    const logger = createLogger(
      'error',
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          errorsLogged.push(...chunk.toString('utf8').split('\n').filter(Boolean));
          done();
        },
      }),
    );
    provider = await startOidcProvider({ redirectUris: ['http://127.0.0.1/auth/oidc/test/callback'] });
    app = await createTestApp({
      logger,
      env: {
        ...CHEAP_HASHING,
        REGISTRATION_OPEN: 'true',
        OIDC_PROVIDERS: JSON.stringify([
          { name: 'test', issuer: provider.issuer, clientId: provider.clientId, clientSecret: provider.clientSecret },
        ]),
        // Off: hostile passwords are failed attempts, and a lockout would stop the calls before their text is used.
        LOCKOUT_LIMIT: '0',
        // Off too: a wrong old password in changePassword is a failed guess the account's count records.
        LOCKOUT_ACCOUNT_LIMIT: '0',
        // No session is touched during the run: a refused call must leave the session table as it was.
        SESSION_TOUCH_INTERVAL: '86400',
        // Off: a reset request counts its e-mails at the mailer's next tick, during whatever call comes next.
        PASSWORD_RESET_EMAIL_LIMIT: '0',
      },
    });
    const users = createAuth(app.config).users;
    const manager = em();
    ids.root = String(
      (await users.createUser(manager, { username: 'root', password: 'root-password-1', isSuperuser: true })).id,
    );
    for (const username of ['victim', 'signer', 'changer', 'forgetful', 'watched', 'enroller', 'lost', 'twofa']) {
      const user = await users.createUser(manager, {
        username,
        email: `${username}@example.com`,
        password: `${username}-password-1`,
      });
      ids[username] = String(user.id);
    }
    root = await loggedInClient(app.url, 'root', 'root-password-1');
    changer = await loggedInClient(app.url, 'changer', changerPassword);
    enroller = await loggedInClient(app.url, 'enroller', 'enroller-password-1');
    ids.group = await newGroup();
    const { body } = await root.graphql<{ createPoll: { id: string; choices: { id: string }[] } }>(
      'mutation { createPoll(question: "Fixture?", choices: ["Yes", "No"]) { id choices { id } } }',
    );
    ids.poll = body.data?.createPoll.id ?? '';
    ids.choice = body.data?.createPoll.choices[0]?.id ?? '';

    const columns = await selectAll<{ n: number }>(
      manager,
      `SELECT DISTINCT character_maximum_length AS n FROM information_schema.columns
       WHERE table_schema = current_schema() AND character_maximum_length IS NOT NULL ORDER BY 1`,
    );
    columnLengths = columns.map(({ n }) => n);
    const tables = await selectAll<{ name: string }>(
      manager,
      `SELECT table_name AS name FROM information_schema.tables
       WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1`,
    );
    // Not the audit log: it records refusals too (a failed login), and its writer runs in the background, so that
    // the rows of one call may land during the next.
    snapshotSql = `SELECT ${tables
      .filter(({ name }) => name !== 'gqlauth_audit_event')
      .map(
        ({ name }) =>
          `(SELECT count(*) || ':' || coalesce(sum(hashtextextended(t::text, 0)), 0) FROM "${name}" t) AS "${name}"`,
      )
      .join(', ')}`;
  });
  afterAll(async () => {
    await app.stop();
    await provider.stop();
  });

  /** Calls `root` with `args`: the answer, and whether it must have changed nothing and did. */
  const call = async (rootField: RootField, args: Args, as: 'variables' | 'literals') => {
    const before = lastSnapshot ?? (await snapshot());
    const [query, variables] = operationOf(rootField, args, as);
    const response: GraphQLResponse = await clientFor(rootField.coordinate).graphql(query, variables);
    const codes = (response.body.errors ?? []).map((error) => String(error.extensions?.code));
    const after = await snapshot();
    lastSnapshot = after;
    const refused = codes.some((code) => REFUSALS.has(code));
    const changed = refused ? Object.keys(before).filter((table) => before[table] !== after[table]) : [];
    if (rootField.coordinate === 'Mutation.changePassword' && response.body.data?.changePassword === true)
      changerPassword = String(args.newPassword);
    return { status: response.status, codes, changed, data: response.body.data };
  };

  it('knows plausible arguments for every field with text arguments, and no other field takes text', () => {
    expect(roots.map(({ coordinate }) => coordinate).sort()).toEqual(Object.keys(plausible).sort());
    const offRoot = Object.values(schema.getTypeMap())
      .filter((type): type is GraphQLObjectType => 'getFields' in type && !type.name.startsWith('__'))
      .filter((type) => type !== schema.getQueryType() && type !== schema.getMutationType())
      .flatMap((type) => (isInputObjectType(type) ? [] : fieldsWithText(schema, type, 'query')))
      .map(({ coordinate }) => coordinate);
    expect(offRoot).toEqual([]);
  });

  it.each(roots.map((rootField) => [rootField.coordinate, rootField] as const))(
    "makes %s's plain call work, so that hostile text reaches as far as it can",
    async (_coordinate, rootField) => {
      const { codes, data } = await call(rootField, (await plausible[rootField.coordinate]?.('')) ?? {}, 'variables');
      expect({ codes, answered: data !== null && data !== undefined }).toEqual({ codes: [], answered: true });
    },
  );

  it.each(roots.map((rootField) => [rootField.coordinate, rootField] as const))(
    'answers hostile and random text in every argument of %s without INTERNAL_SERVER_ERROR, changing nothing when it refuses it',
    async (coordinate, rootField) => {
      const failures: Record<string, unknown>[] = [];
      let calls = 0;
      for (const text of rootField.texts) {
        const attacked = String(text.path[0]);
        const base = (await plausible[coordinate]?.(attacked)) ?? {};
        const near = valueAt(base, text.path);
        const example = typeof near === 'string' ? near : text.isId ? '1' : 'text';
        const random = generator(seedFor(`${coordinate} ${text.name}`));
        const values: [string, string][] = hostileTexts(example, text.bound, columnLengths);
        for (let index = 0; index < RANDOM_PER_ARGUMENT; index += 1) {
          let value = randomText(random, example, text.bound);
          // A random id that happens to be a row's would act on it (delete it): ids that work are sent above.
          while (text.isId && /^[1-9]\d{0,9}$/.test(value)) value = randomText(random, example, text.bound);
          values.push(['random', value]);
        }
        for (const [index, [label, value]] of values.entries()) {
          for (const as of index < AS_LITERALS ? (['variables', 'literals'] as const) : (['variables'] as const)) {
            const args = withValueAt(await plausible[coordinate]?.(attacked), text.path, value) as Args;
            const { status, codes, changed } = await call(rootField, args, as);
            calls += 1;
            if (status === 500 || codes.includes('INTERNAL_SERVER_ERROR') || changed.length > 0)
              failures.push({ argument: text.name, value: shown(label, value), as, status, codes, changed });
          }
        }
      }
      expect(calls).toBeGreaterThan(0);
      expect({ seed: SEED, failures }).toEqual({ seed: SEED, failures: [] });
    },
  );

  it('logs no unexpected error while answering all of it', () => {
    expect(errorsLogged.map((line) => (JSON.parse(line) as { msg?: string }).msg)).toEqual([]);
  });
});

/**
 * Users as Django's UserManager and AbstractBaseUser make them: username rules, e-mail normalization, hashed or
 * unusable passwords, superusers, and no half-written rows.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ValidationError } from '../../src/auth/index.js';
import { normalizeEmail } from '../../src/auth/users.js';
import { User } from '../../src/entities/user.js';
import { createAuthFixture, type AuthFixture } from '../support/auth.js';

/** The codes of the ValidationError that `promise` rejects with. */
async function refusal(promise: Promise<unknown>): Promise<string[]> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ValidationError) return error.issues.map((issue) => issue.code);
    throw error;
  }
  throw new Error('expected a ValidationError');
}

describe('users', () => {
  let fixture: AuthFixture;
  beforeAll(async () => {
    fixture = await createAuthFixture();
  });
  afterAll(() => fixture.close());

  async function storedPassword(username: string): Promise<string> {
    const user = await fixture.em().findOneOrFail(User, { username }, { populate: ['password'] });
    return user.password;
  }

  it("creates an active, ordinary user whose password is stored hashed in Django's argon2 format", async () => {
    const user = await fixture.auth.users.createUser(fixture.em(), {
      username: 'alice',
      email: 'Alice@Example.COM',
      password: 'wonderland-42',
      firstName: 'Alice',
    });
    const stored = await fixture.em().findOneOrFail(User, { id: user.id });
    expect(stored).toMatchObject({
      username: 'alice',
      email: 'Alice@example.com',
      firstName: 'Alice',
      lastName: '',
      isActive: true,
      isStaff: false,
      isSuperuser: false,
      lastLogin: null,
    });
    expect(await storedPassword('alice')).toMatch(/^argon2\$argon2id\$v=19\$m=1024,t=1,p=1\$/);
    expect(await storedPassword('alice')).not.toContain('wonderland-42');
    expect(await fixture.auth.passwords.checkPassword(fixture.em(), user, 'wonderland-42')).toBe(true);
  });

  it('never hands the hash out with the user unless asked for it', async () => {
    const created = await fixture.auth.users.createUser(fixture.em(), {
      username: 'hashless',
      password: 'some-pass-9',
    });
    expect(created.password).toBeUndefined();
    const loaded = await fixture.em().findOneOrFail(User, { username: 'alice' });
    expect(loaded.password).toBeUndefined();
    expect(JSON.stringify(loaded)).not.toContain('argon2');
  });

  it('refuses a password over the maximum length before hashing or storing anything', async () => {
    expect(
      await refusal(fixture.auth.users.createUser(fixture.em(), { username: 'huge', password: 'x'.repeat(1 << 20) })),
    ).toEqual(['password_too_long']);
    expect(await fixture.em().count(User, { username: 'huge' })).toBe(0);
  });

  it('gives a user created without a password an unusable one', async () => {
    const user = await fixture.auth.users.createUser(fixture.em(), { username: 'nopass' });
    expect(await storedPassword('nopass')).toMatch(/^![A-Za-z0-9]{40}$/);
    expect(await fixture.auth.passwords.hasUsablePassword(fixture.em(), user)).toBe(false);
    expect(await fixture.auth.passwords.checkPassword(fixture.em(), user, '')).toBe(false);
  });

  it.each([
    ['a'.repeat(150), []],
    ['a'.repeat(151), ['username_too_long']],
    ['', ['username_required']],
    ['with space', ['username_invalid']],
    ['semi;colon', ['username_invalid']],
    ['ok.name+tag@site-x_y', []],
    ['Zoë', []],
    ['名前', []],
    ['हिन्दी', ['username_invalid']], // combining marks: Python's \w refuses them, so Django does
    ['😀'.repeat(75), ['username_invalid']],
  ])("applies Django's username rules to example %#", async (username, codes) => {
    const outcome = refusal(fixture.auth.users.createUser(fixture.em(), { username }));
    if (codes.length > 0) expect(await outcome).toEqual(codes);
    else await expect(outcome).rejects.toThrow('expected a ValidationError');
  });

  it('refuses a username that is taken, and one that is taken in another Unicode form (NFKC)', async () => {
    expect(await refusal(fixture.auth.users.createUser(fixture.em(), { username: 'alice' }))).toEqual([
      'username_taken',
    ]);
    await fixture.auth.users.createUser(fixture.em(), { username: 'ﬁsh' }); // the "fi" ligature, NFKC-normalized
    expect(await storedPassword('fish')).toMatch(/^!/);
    expect(await refusal(fixture.auth.users.createUser(fixture.em(), { username: 'fish' }))).toEqual([
      'username_taken',
    ]);
  });

  it('lets exactly one of two simultaneous creations of a username through, and leaves no other row', async () => {
    const results = await Promise.allSettled([
      fixture.auth.users.createUser(fixture.em(), { username: 'racer', password: 'first-pass-1' }),
      fixture.auth.users.createUser(fixture.em(), { username: 'racer', password: 'second-pass-2' }),
    ]);
    expect(results.map((result) => result.status).sort()).toEqual(['fulfilled', 'rejected']);
    const rejected = results.find((result) => result.status === 'rejected');
    expect(rejected?.reason).toBeInstanceOf(ValidationError);
    expect(await fixture.em().count(User, { username: 'racer' })).toBe(1);
  });

  it.each([
    ['carol@Example.COM', 'carol@example.com'],
    ['  Mixed.Case@DOMAIN.org ', 'Mixed.Case@domain.org'],
    ['a@b@C.COM', 'a@b@c.com'],
    ['no-at-sign', 'no-at-sign'],
  ])('normalizes the e-mail %j as Django does', (input, expected) => {
    expect(normalizeEmail(input)).toBe(expected);
  });

  it('creates a superuser as staff and superuser, and refuses one that would not be both', async () => {
    const admin = await fixture.auth.users.createSuperuser(fixture.em(), { username: 'root', password: 'r00t-pass' });
    expect({ isStaff: admin.isStaff, isSuperuser: admin.isSuperuser }).toEqual({ isStaff: true, isSuperuser: true });
    expect(
      await refusal(fixture.auth.users.createSuperuser(fixture.em(), { username: 'half', isStaff: false })),
    ).toEqual(['superuser_not_staff']);
    expect(
      await refusal(fixture.auth.users.createSuperuser(fixture.em(), { username: 'half', isSuperuser: false })),
    ).toEqual(['superuser_not_superuser']);
    expect(await fixture.em().count(User, { username: 'half' })).toBe(0);
  });

  it('sets a new password, and can make it unusable', async () => {
    const em = fixture.em();
    const user = await em.findOneOrFail(User, { username: 'root' });
    await fixture.auth.passwords.setPassword(user, 'n3w-pass');
    await em.flush();
    expect(await fixture.auth.passwords.checkPassword(fixture.em(), user, 'r00t-pass')).toBe(false);
    expect(await fixture.auth.passwords.checkPassword(fixture.em(), user, 'n3w-pass')).toBe(true);
    fixture.auth.passwords.setUnusablePassword(user);
    await em.flush();
    expect(await fixture.auth.passwords.hasUsablePassword(fixture.em(), user)).toBe(false);
    expect(await fixture.auth.passwords.checkPassword(fixture.em(), user, 'n3w-pass')).toBe(false);
  });
});

/**
 * Adding fields to the user without touching the core (Django's "extend User with a one-to-one profile"),
 * exactly as docs/identity.md's "Adding fields to the user" shows: an entity and a migration (test/support/profile.ts),
 * and a transaction around createUser so that a user never exists without its profile.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createAuth, type Auth } from '../../src/auth/index.js';
import { loadConfig } from '../../src/config/index.js';
import { openDatabase, type Database } from '../../src/db/database.js';
import { migrations } from '../../src/db/migrations/index.js';
import { User } from '../../src/entities/user.js';
import { CHEAP_HASHING } from '../support/auth.js';
import { createEmptyDatabase, type TestDatabase } from '../support/database.js';
import { testLogger } from '../support/env.js';
import { Profile, profileMigration } from '../support/profile.js';

describe("a user with fields of the schema author's own", () => {
  let testDatabase: TestDatabase;
  let database: Database;
  let auth: Auth;

  beforeAll(async () => {
    testDatabase = await createEmptyDatabase();
    database = await openDatabase(testDatabase.config, testLogger, {
      entities: [Profile],
      migrations: [...migrations, profileMigration],
    });
    auth = createAuth(loadConfig(CHEAP_HASHING));
  });
  afterAll(async () => {
    await database.close();
    await testDatabase.drop();
  });

  /** The author's own "create an account": user and profile in one transaction. */
  function createAccount(username: string, phoneNumber: string, organization: string): Promise<User> {
    return database.orm.em.fork().transactional(async (em) => {
      const user = await auth.users.createUser(em, { username, password: 'a-fine-password' });
      em.create(Profile, { user, phoneNumber, organization });
      return user;
    });
  }

  it('stores and loads the extra fields with the user', async () => {
    const user = await createAccount('alice', '+44 20 7946 0958', 'Wonderland Ltd');
    const profile = await database.orm.em.fork().findOneOrFail(Profile, { user: user.id }, { populate: ['user'] });
    expect({
      username: profile.user.username,
      phoneNumber: profile.phoneNumber,
      organization: profile.organization,
    }).toEqual({
      username: 'alice',
      phoneNumber: '+44 20 7946 0958',
      organization: 'Wonderland Ltd',
    });
    // The core works on such a user as on any other.
    const result = await auth.authenticate(database.orm.em.fork(), { username: 'alice', password: 'a-fine-password' });
    expect(result?.user.id).toBe(user.id);
  });

  it('leaves no user behind when the profile cannot be stored', async () => {
    await expect(createAccount('bob', '+1'.repeat(40), 'Too Long Phone Inc')).rejects.toThrow();
    expect(await database.orm.em.fork().count(User, { username: 'bob' })).toBe(0);
  });
});

/**
 * Adding fields to the user without touching the core (Django's "extend User with a one-to-one profile"),
 * exactly as docs/identity.md's "Adding fields to the user" shows: an entity, a migration, and a transaction around
 * createUser so that a user never exists without its profile.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { Migration } from '@mikro-orm/migrations';
import { createAuth, type Auth } from '../../src/auth/index.js';
import { loadConfig } from '../../src/config/index.js';
import { openDatabase, type Database } from '../../src/db/database.js';
import { migrations } from '../../src/db/migrations/index.js';
import { User } from '../../src/entities/user.js';
import { CHEAP_HASHING } from '../support/auth.js';
import { createEmptyDatabase, type TestDatabase } from '../support/database.js';
import { testLogger } from '../support/env.js';

// --- What a schema author writes (src/entities/profile.ts and a migration) -------------------------------------
const Profile = defineEntity({
  name: 'Profile',
  tableName: 'accounts_profile',
  properties: {
    user: () => p.oneToOne(User).primary().deleteRule('cascade'),
    phoneNumber: p.string().length(32),
    organization: p.string().length(100),
  },
});
type Profile = InferEntity<typeof Profile>;

class Migration20261201000000_profile extends Migration {
  override up(): void {
    this.addSql(`CREATE TABLE accounts_profile (
      user_id integer PRIMARY KEY REFERENCES auth_user (id) ON DELETE CASCADE,
      phone_number varchar(32) NOT NULL,
      organization varchar(100) NOT NULL DEFAULT ''
    )`);
  }
}
// ------------------------------------------------------------------------------------------------------------------

describe("a user with fields of the schema author's own", () => {
  let testDatabase: TestDatabase;
  let database: Database;
  let auth: Auth;

  beforeAll(async () => {
    testDatabase = await createEmptyDatabase();
    database = await openDatabase(testDatabase.config, testLogger, {
      entities: [Profile],
      migrations: [...migrations, { name: 'Migration20261201000000_profile', class: Migration20261201000000_profile }],
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

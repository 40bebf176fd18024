/**
 * A migrated test database with the auth core on it, for tests of users, backends and permissions.
 * Hashing is made cheap (argon2id at 1 MiB, 1 pass): these tests are about rules, not cost.
 */
import polls from '../../examples/polls/index.ts';
import type { EntityManager } from '@mikro-orm/postgresql';
import { createAuth, type Auth, type AuthOptions } from '../../src/auth/index.js';
import { loadConfig } from '../../src/config/index.js';
import { openDatabase, type Database } from '../../src/db/database.js';
import { Group } from '../../src/entities/group.js';
import { Permission } from '../../src/entities/permission.js';
import type { Logger } from '../../src/logger.js';
import { sqlLogger } from './sql-log.js';
import { createTestDatabase, type TestDatabase } from './database.js';

export const CHEAP_HASHING = { ARGON2_MEMORY_KIB: '1024', ARGON2_TIME_COST: '1' };

export interface AuthFixture {
  readonly database: Database;
  readonly auth: Auth;
  /** SQL statements the ORM has run since the fixture opened (read from its debug log). */
  readonly queries: string[];
  em(): EntityManager;
  /** The permission `app_label.codename`, loaded as an entity. */
  permission(name: string): Promise<Permission>;
  /** A new group holding these permissions. */
  group(name: string, permissions: string[]): Promise<Group>;
  close(): Promise<void>;
}

export async function createAuthFixture(
  env: Record<string, string> = {},
  options: AuthOptions = {},
): Promise<AuthFixture> {
  const testDatabase: TestDatabase = await createTestDatabase();
  const queries: string[] = [];
  const logger: Logger = sqlLogger(queries);
  // The polls example's entities, whose tables the template has (setup-run.ts): tests of object permissions use them.
  const database = await openDatabase(testDatabase.config, logger, { apps: [polls] });
  const auth = createAuth(loadConfig({ ...CHEAP_HASHING, ...env }), options);
  const em = () => database.orm.em.fork();
  const permission = async (name: string) => {
    const [appLabel, codename] = name.split('.');
    return em().findOneOrFail(Permission, { codename: codename ?? '', contentType: { appLabel: appLabel ?? '' } });
  };
  return {
    database,
    auth,
    queries,
    em,
    permission,
    async group(name, permissions) {
      const manager = em();
      const group = manager.create(Group, { name });
      for (const perm of permissions)
        group.permissions.add(manager.getReference(Permission, (await permission(perm)).id));
      await manager.flush();
      return group;
    },
    async close() {
      await database.close();
      await testDatabase.drop();
    },
  };
}

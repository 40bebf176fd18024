/**
 * MikroORM's options that do not depend on where the database is: entities, migrations, naming. Shared by the server
 * (`database.ts` adds the connection) and the MikroORM CLI (`mikro-orm.config.ts` at the root). Inside src/, so
 * that the build ships it.
 */
import { defineConfig } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { entities } from '../entities/index.js';
import { migrations } from './migrations/index.js';
import { PROJECT_TABLES } from './project-tables.js';

export const ormOptions = defineConfig({
  entities,
  extensions: [Migrator],
  discovery: { warnWhenNoEntities: false },
  schemaGenerator: {
    // The project's tables belong to its hand-written migrations (Django's names, triggers, adoption as they are):
    // left out of the schema diff, so that `migration:create` never drops, renames or rewrites them.
    skipTables: [...PROJECT_TABLES],
  },
  migrations: {
    // Where `migration:create` writes; the server runs the list in src/db/migrations/index.ts.
    path: 'src/db/migrations',
    pathTs: 'src/db/migrations',
    migrationsList: migrations,
    tableName: 'mikro_orm_migrations',
    transactional: true,
    allOrNothing: true,
    snapshot: false,
    // A table without an entity is someone else's (a Django project's, sharing the database): never dropped.
    // To drop a table of your own (or undo one in down()), write the DROP TABLE into the migration by hand.
    dropTables: false,
    emit: 'ts',
  },
});

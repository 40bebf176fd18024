/**
 * MikroORM's options that do not depend on where the database is: entities, migrations, naming. Shared by the server
 * (`database.ts` adds the connection) and the MikroORM CLI (`mikro-orm.config.ts` at the root). Inside src/, so
 * that the build ships it.
 */
import { ReferenceKind, type EntitySchema, type MigrationObject, type MikroORM } from '@mikro-orm/core';
import pg from 'pg';
import { defineConfig, type Options } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { entities } from '../entities/index.js';
import type { ModelDefinition } from './content-types.js';
import { migrations } from './migrations/index.js';
import { PROJECT_TABLES } from './project-tables.js';

/** What an installed app brings to the database (the rest of `defineApp`, in src/apps.ts, is its schema). */
export interface DatabaseApp {
  /** Django's app label: the prefix of its permissions (`polls.add_poll`) and, by custom, of its tables. */
  readonly label: string;
  /** Its models, whose content types and permissions `migrate` creates. */
  readonly models?: readonly ModelDefinition[];
  /** Its MikroORM entities. */
  readonly entities?: readonly EntitySchema[];
  /** Its migrations, run after the server's own, in this order; names must not repeat another app's. */
  readonly migrations?: readonly MigrationObject[];
  /**
   * Tables its migrations write by hand in a shape MikroORM would not (Django's constraint names, adopted as they
   * are): left out of `migration:create`'s diff, as the server's own are.
   */
  readonly tables?: readonly string[];
}

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

/** The options with the installed apps' entities, migrations (after the server's) and hand-written tables. */
export function ormOptionsWith(apps: readonly DatabaseApp[]): Options {
  if (apps.length === 0) return ormOptions;
  return {
    ...ormOptions,
    entities: [...(ormOptions.entities ?? []), ...apps.flatMap((app) => app.entities ?? [])],
    schemaGenerator: {
      ...ormOptions.schemaGenerator,
      skipTables: [...PROJECT_TABLES, ...apps.flatMap((app) => app.tables ?? [])],
    },
    migrations: {
      ...ormOptions.migrations,
      migrationsList: [...migrations, ...apps.flatMap((app) => app.migrations ?? [])],
    },
  };
}

/**
 * `options` with every table of the database that no entity describes, and no migration of ours keeps, left out of
 * the schema diff as well. MikroORM keeps such a table (`dropTables: false`) but still drops the foreign keys between
 * two of them: a Django project's own app sharing the database (its polls_choice referencing its polls_poll) would
 * lose its constraints in the next `migration:create`. Its tables are its own project's business.
 */
export function skippingUnmodelled(options: Options, existing: readonly string[]): Options {
  const skipped = options.schemaGenerator?.skipTables ?? [];
  const modelled = new Set<string>([
    'mikro_orm_migrations',
    ...skipped.filter((table): table is string => typeof table === 'string'),
    ...(options.entities ?? []).map((entity) => (entity as EntitySchema).meta.tableName),
  ]);
  const unmodelled = existing.filter((table) => !modelled.has(table));
  if (unmodelled.length === 0) return options;
  return { ...options, schemaGenerator: { ...options.schemaGenerator, skipTables: [...skipped, ...unmodelled] } };
}

/** The tables of the public schema, read with one short connection (the MikroORM CLI's, before it starts). */
export async function publicTables(connection: pg.ClientConfig): Promise<string[]> {
  const client = new pg.Client(connection);
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string }>(
      "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename",
    );
    return rows.map((row) => row.name);
  } finally {
    await client.end();
  }
}

/**
 * Each entity's columns made plain properties again, once MikroORM has discovered the entities (call it after init).
 * MikroORM puts a setter on the entity's prototype for every property, which at an instance's first write redefines
 * it on the instance as a getter and setter over MikroORM's internal copy of the entity's data: about half the cost of
 * making an entity (8.2 against 4.3 us for a user, alone; in the bench's profile of an authenticated `me`, making the
 * session user went from 9.5% to 6.1% of the event loop's samples). For a column nothing reads that copy (MikroORM's
 * own `propagationOnPrototype: false` leaves columns plain too). For a relation MikroORM does read it (a removed entity's referrers are cleared through it; a transaction's changes are
 * copied back to the outer EntityManager from it), so relations keep their setters: that option would drop those too.
 */
export function plainColumns(orm: MikroORM): void {
  for (const meta of orm.getMetadata().getAll().values()) {
    const prototype = meta.prototype as Record<string, unknown> | undefined;
    if (!prototype) continue;
    for (const prop of meta.props) {
      // The columns MikroORM gives a setter (EntityHelper.defineProperties), and no other property: an accessor of
      // the entity's own class stays.
      const ownsSetter =
        prop.kind === ReferenceKind.SCALAR &&
        !prop.inherited &&
        !prop.primary &&
        !prop.accessor &&
        prop.persist !== false &&
        !prop.embedded;
      const own = ownsSetter ? Object.getOwnPropertyDescriptor(prototype, prop.name) : undefined;
      if (own?.set && !own.get && own.configurable) Reflect.deleteProperty(prototype, prop.name);
    }
  }
}

/**
 * Apps, Django's INSTALLED_APPS: a team's own models, permissions, tables, SDL, resolvers and policies, in a module of
 * its own that the server loads from the settings, without editing the package.
 *
 *   // polls/index.ts
 *   export default defineApp({ label: 'polls', models, entities, migrations, typeDefs, resolvers, policies });
 *
 *   INSTALLED_APPS=./polls/index.ts
 *
 * The server passes each app's database part to `openDatabase` (entities, migrations after its own, the content types
 * and permissions `migrate` creates) and its schema part to `buildSchema` (SDL, resolvers, named policies), where
 * the directives guard its fields as they guard the server's. docs/apps.md walks through examples/polls.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { ImproperlyConfigured } from './auth/errors.js';
import { loadedExport } from './auth/extensions.js';
import type { Config } from './config/index.js';
import type { DatabaseApp } from './db/orm-options.js';
import type { GraphQLContext } from './graphql/context.js';
import type { Policy } from './graphql/directives/index.js';
import type { SchemaExtensions } from './graphql/schema.js';

/** What `seed-demo` asks of an app: the permissions of its demo groups, and its demo rows. */
export interface DemoData {
  /** Permissions (`polls.view_poll`) given to the demo groups Editors and Viewers. */
  readonly groupPermissions?: { readonly Editors?: readonly string[]; readonly Viewers?: readonly string[] };
  /** Creates the app's demo rows when it has none, in the command's transaction; answers what it made, if anything. */
  seed?(em: EntityManager): Promise<string | undefined>;
}

/** An app: a label, and what it brings to the database and to the schema. Every part is optional. */
export interface App extends DatabaseApp, SchemaExtensions {
  /** Demo data for `npm run manage -- seed-demo`. */
  readonly demo?: DemoData;
}

/** Django's rule for an app label: a Python identifier, lower case by custom (`polls`, `billing_v2`). */
const LABEL = /^[a-z_][a-z0-9_]*$/;

/**
 * Checks an app's definition and returns it. Models must carry the app's label (permissions are `label.codename`,
 * and a model filed under another app would grant that app's permissions).
 */
export function defineApp<const T extends App>(app: T): T {
  if (!LABEL.test(app.label))
    throw new ImproperlyConfigured(
      `the app label ${JSON.stringify(app.label)} is not a lower-case identifier (letters, digits, _), e.g. "polls"`,
    );
  const foreign = (app.models ?? []).filter((model) => model.appLabel !== app.label);
  if (foreign.length > 0)
    throw new ImproperlyConfigured(
      `the app ${app.label} declares models of another app: ${foreign.map((model) => `${model.appLabel}.${model.model}`).join(', ')}`,
    );
  return Object.freeze(app);
}

/** Django's own app labels, which no installed app may take. */
const RESERVED = new Set(['auth', 'contenttypes']);

/** The apps INSTALLED_APPS names (loaded by loadExtensions), in order; a label taken twice is refused. */
export function installedApps(config: Pick<Config, 'installedApps'>): App[] {
  // Checked again here: a module may export an object that never went through defineApp.
  const apps = config.installedApps.map((entry) => defineApp(loadedExport('INSTALLED_APPS', entry) as App));
  const seen = new Set(RESERVED);
  for (const { label } of apps) {
    // Two apps under one label would share its permissions: a grant meant for one would open the other.
    if (seen.has(label))
      throw new ImproperlyConfigured(
        `INSTALLED_APPS names a second app labelled ${label}: labels are unique (auth and contenttypes are Django's own)`,
      );
    seen.add(label);
  }
  // Two migrations under one name: MikroORM would run the first and take the second for done.
  const names = apps.flatMap((app) => (app.migrations ?? []).map((migration) => migration.name));
  const repeated = names.find((name, index) => names.indexOf(name) !== index);
  if (repeated !== undefined)
    throw new ImproperlyConfigured(`INSTALLED_APPS: two migrations are named ${repeated}: each name must be unique`);
  return apps;
}

/** The apps' SDL, resolvers and policies, as one `buildSchema` extension; a policy name taken twice is refused. */
export function schemaOf(apps: readonly App[]): SchemaExtensions {
  const policies: Record<string, Policy<GraphQLContext>> = {};
  for (const app of apps) {
    for (const [name, policy] of Object.entries(app.policies ?? {})) {
      if (name in policies)
        throw new ImproperlyConfigured(
          `the apps ${app.label} and another both define the policy ${JSON.stringify(name)}`,
        );
      policies[name] = policy;
    }
  }
  return {
    typeDefs: apps.flatMap((app) => app.typeDefs ?? []),
    resolvers: apps.flatMap((app) => app.resolvers ?? []),
    policies,
  };
}

/**
 * The tables this project's own migrations (src/db/migrations/) create and keep: Django's, django-guardian's and the
 * server's own. They are written by hand, in Django's exact shape, and an existing table
 * (a Django project's) is adopted as it is.
 *
 * MikroORM's schema diff leaves them alone (`schemaGenerator.skipTables` in orm-options.ts): it would otherwise
 * "correct" them to its own naming (renaming Django's constraints and indexes, dropping the triggers) and drop those
 * without an entity. `npx mikro-orm migration:create` thus writes migrations for an application's own entities only.
 *
 * `check` and `/readyz` report any of them missing, and a missing or disabled authorization-version trigger: the
 * server cannot work without a single table, and without a trigger it would not see permission changes.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { AUTHORIZATION_TABLES } from './migrations/Migration20261123050000_authz_version.js';
import { selectAll } from './sql.js';

export const PROJECT_TABLES = [
  // Django's contenttypes and auth (Migration20261123000000_auth).
  'django_content_type',
  'auth_permission',
  'auth_group',
  'auth_group_permissions',
  'auth_user',
  'auth_user_groups',
  'auth_user_user_permissions',
  // Sessions (Migration20261123010000_sessions).
  'gqlauth_session',
  // django-guardian's object permissions (Migration20261123020000_object_permissions).
  'guardian_userobjectpermission',
  'guardian_groupobjectpermission',
  // Brute-force lockout counters (Migration20261123040000_lockout).
  'gqlauth_login_failure',
  // The authorization version and its triggers (Migration20261123050000_authz_version).
  'gqlauth_authz_version',
  // The audit log (Migration20261206030000_audit_event).
  'gqlauth_audit_event',
  // Personal access tokens (Migration20261206030000_access_tokens).
  'gqlauth_access_token',
  // Links to accounts at OpenID Connect providers (Migration20261207010000_external_identity).
  'gqlauth_external_identity',
  // The TOTP second factor and its recovery codes (Migration20261207000000_second_factor).
  'gqlauth_totp_device',
  'gqlauth_recovery_code',
] as const;

/** The trigger that moves the authorization version, on each of AUTHORIZATION_TABLES. */
export const AUTHORIZATION_TRIGGER = 'gqlauth_authz_version';

export interface MissingProjectObjects {
  /** Project tables absent from the public schema, in PROJECT_TABLES' order. */
  readonly tables: string[];
  /** Tables of AUTHORIZATION_TABLES (that exist) without an enabled AUTHORIZATION_TRIGGER, in that list's order. */
  readonly triggers: string[];
}

/** What a migration or a hand-made change removed of what the project's migrations made; both empty when intact. */
export async function missingProjectObjects(em: EntityManager): Promise<MissingProjectObjects> {
  const rows = await selectAll<{ kind: 'table' | 'trigger'; name: string }>(
    em,
    `SELECT 'table' AS kind, name, position FROM jsonb_array_elements_text(?::jsonb) WITH ORDINALITY AS t(name, position)
       WHERE to_regclass('public.' || quote_ident(name)) IS NULL
     UNION ALL
     SELECT 'trigger', name, position FROM jsonb_array_elements_text(?::jsonb) WITH ORDINALITY AS t(name, position)
       WHERE to_regclass('public.' || quote_ident(name)) IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = to_regclass('public.' || quote_ident(name))
                           AND tgname = ? AND tgenabled <> 'D')
     ORDER BY kind, position`,
    [JSON.stringify(PROJECT_TABLES), JSON.stringify(AUTHORIZATION_TABLES), AUTHORIZATION_TRIGGER],
  );
  const named = (kind: string) => rows.filter((row) => row.kind === kind).map((row) => row.name);
  return { tables: named('table'), triggers: named('trigger') };
}

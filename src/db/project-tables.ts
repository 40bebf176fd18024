/**
 * The tables this project's own migrations (src/db/migrations/) create and keep: Django's, django-guardian's, the
 * polls example's and the server's own. They are written by hand, in Django's exact shape, and an existing table
 * (a Django project's) is adopted as it is.
 *
 * MikroORM's schema diff leaves them alone (`schemaGenerator.skipTables` in mikro-orm.config.ts): it would otherwise
 * "correct" them to its own naming (renaming Django's constraints and indexes, dropping the triggers) and drop those
 * without an entity. `npx mikro-orm migration:create` thus writes migrations for an application's own entities only.
 */
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
  // The polls example (Migration20261123030000_polls).
  'polls_poll',
  'polls_choice',
  // Brute-force lockout counters (Migration20261123040000_lockout).
  'gqlauth_login_failure',
  // The authorization version and its triggers (Migration20261123050000_authz_version).
  'gqlauth_authz_version',
] as const;

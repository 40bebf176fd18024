/**
 * A counter that moves whenever anything that decides a user's groups or permissions changes: group memberships,
 * direct grants, a group's grants, group names, permissions and content types. Statement triggers move it, so it
 * also moves when the change comes from elsewhere (Django's admin, a script, psql). Each server process keeps
 * users' groups and permissions between requests only under the counter's value it read them with, and reads the
 * counter with every session: a change made through any process is seen by all at their next request.
 */
import { Migration } from '@mikro-orm/migrations';

/** The tables whose rows decide what `PermissionChecker` loads for a user. */
export const AUTHORIZATION_TABLES = [
  'auth_user_groups',
  'auth_user_user_permissions',
  'auth_group_permissions',
  'auth_group',
  'auth_permission',
  'django_content_type',
] as const;

export class Migration20261123050000_authz_version extends Migration {
  override up(): void {
    this.addSql(`CREATE TABLE gqlauth_authz_version (
      one boolean PRIMARY KEY DEFAULT true CHECK (one),
      version bigint NOT NULL
    )`);
    // A random start: a database recreated (or this migration undone and redone) under running servers never
    // repeats a version their caches hold.
    this.addSql('INSERT INTO gqlauth_authz_version (one, version) VALUES (true, floor(random() * 1e15)::bigint)');
    // SECURITY DEFINER: a program writing the auth tables under another role (Django's, say) needs no rights on the
    // counter; the fixed search_path keeps such a function from running objects another role planted.
    // A row update, not a sequence: it commits with the change, so nobody reads the new version before the data.
    this.addSql(`CREATE FUNCTION gqlauth_bump_authz_version() RETURNS trigger LANGUAGE plpgsql
      SECURITY DEFINER SET search_path = pg_catalog, public AS $$
      BEGIN
        UPDATE public.gqlauth_authz_version SET version = version + 1;
        RETURN NULL;
      END
    $$`);
    for (const table of AUTHORIZATION_TABLES) {
      this.addSql(`CREATE TRIGGER gqlauth_authz_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ${table}
        FOR EACH STATEMENT EXECUTE FUNCTION gqlauth_bump_authz_version()`);
    }
  }

  override down(): void {
    for (const table of AUTHORIZATION_TABLES) this.addSql(`DROP TRIGGER gqlauth_authz_version ON ${table}`);
    this.addSql('DROP FUNCTION gqlauth_bump_authz_version()');
    this.addSql('DROP TABLE gqlauth_authz_version');
  }
}

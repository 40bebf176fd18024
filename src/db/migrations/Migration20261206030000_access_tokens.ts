/**
 * Personal access tokens (src/auth/access-tokens.ts). A row keeps the token's public id in clear (to find it, and to
 * show the user which token is which) and a keyed hash of the whole token, never the token itself: a copy of the
 * table authenticates nobody. Revoking deletes the row; deleting the user deletes their tokens. Read and written in
 * SQL (src/auth/access-tokens.ts), as the session table is: no entity, and listed in PROJECT_TABLES.
 */
import { Migration } from '@mikro-orm/migrations';

export class Migration20261206030000_access_tokens extends Migration {
  override up(): void {
    this.addSql(`CREATE TABLE gqlauth_access_token (
      id serial PRIMARY KEY,
      user_id integer NOT NULL REFERENCES auth_user (id) ON DELETE CASCADE,
      name varchar(100) NOT NULL,
      public_id varchar(32) NOT NULL UNIQUE,
      secret_hash varchar(64) NOT NULL,
      auth_hash varchar(64) NOT NULL,
      scopes jsonb,
      created_at timestamp with time zone NOT NULL,
      expires_at timestamp with time zone NOT NULL,
      last_used_at timestamp with time zone,
      created_by_id integer REFERENCES auth_user (id) ON DELETE SET NULL
    )`);
    this.addSql('CREATE INDEX gqlauth_access_token_user_id ON gqlauth_access_token (user_id)');
  }

  override down(): void {
    this.addSql('DROP TABLE gqlauth_access_token');
  }
}

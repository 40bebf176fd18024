/**
 * Accounts at external identity providers (OpenID Connect, src/auth/external-identities.ts): a provider's subject
 * names one local user. The provider's name and the subject are unique together (a subject logs in one user); the
 * e-mail the provider asserted when the link was made is kept for the user and for support, never used to log in.
 * Deleting the user deletes their links. Read and written in SQL, as the session table is: no entity, and listed in
 * PROJECT_TABLES.
 */
import { Migration } from '@mikro-orm/migrations';

export class Migration20261207010000_external_identity extends Migration {
  override up(): void {
    this.addSql(`CREATE TABLE gqlauth_external_identity (
      id serial PRIMARY KEY,
      provider varchar(32) NOT NULL,
      subject varchar(255) NOT NULL,
      user_id integer NOT NULL REFERENCES auth_user (id) ON DELETE CASCADE,
      email varchar(254) NOT NULL,
      created_at timestamp with time zone NOT NULL,
      last_login_at timestamp with time zone,
      CONSTRAINT gqlauth_external_identity_provider_subject UNIQUE (provider, subject)
    )`);
    this.addSql('CREATE INDEX gqlauth_external_identity_user_id ON gqlauth_external_identity (user_id)');
  }

  override down(): void {
    this.addSql('DROP TABLE gqlauth_external_identity');
  }
}

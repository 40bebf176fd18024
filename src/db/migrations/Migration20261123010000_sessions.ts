/**
 * The session table. Not Django's `django_session` (whose data is Django's signed format, which this server neither
 * reads nor writes): a table of our own, with the user id indexed, so that a user's sessions can be listed and ended.
 */
import { Migration } from '@mikro-orm/migrations';

export class Migration20261123010000_sessions extends Migration {
  override up(): void {
    this.addSql(`CREATE TABLE gqlauth_session (
      sid varchar(128) PRIMARY KEY,
      data jsonb NOT NULL,
      expires_at timestamp with time zone NOT NULL,
      user_id integer REFERENCES auth_user (id) ON DELETE CASCADE
    )`);
    this.addSql('CREATE INDEX gqlauth_session_user_id ON gqlauth_session (user_id)');
    this.addSql('CREATE INDEX gqlauth_session_expires_at ON gqlauth_session (expires_at)');
  }

  override down(): void {
    this.addSql('DROP TABLE gqlauth_session');
  }
}

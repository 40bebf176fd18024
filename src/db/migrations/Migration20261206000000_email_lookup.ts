/**
 * An index for logins by e-mail address: the e-mail backend and the lockout look an address up case-insensitively
 * (`upper(email) = upper(?)`), which without it reads the whole of auth_user at every such login. Django's own
 * auth_user has no index on email; an adopted database gets this one beside its own, which Django ignores.
 */
import { Migration } from '@mikro-orm/migrations';

export class Migration20261206000000_email_lookup extends Migration {
  override up(): void {
    this.addSql('CREATE INDEX IF NOT EXISTS gqlauth_auth_user_email_upper ON auth_user (upper(email))');
  }

  override down(): void {
    this.addSql('DROP INDEX IF EXISTS gqlauth_auth_user_email_upper');
  }
}

/**
 * Failed-attempt counters for the brute-force lockout (src/auth/lockout.ts), when they are kept in PostgreSQL: the
 * table rate-limiter-flexible's RateLimiterPostgres would create itself, made here so that the server needs no
 * CREATE rights at run time. Keys are hashes: no username or address is stored.
 */
import { Migration } from '@mikro-orm/migrations';

export class Migration20261123040000_lockout extends Migration {
  override up(): void {
    this.addSql(`CREATE TABLE gqlauth_login_failure (
      key varchar(255) PRIMARY KEY,
      points integer NOT NULL DEFAULT 0,
      expire bigint
    )`);
  }

  override down(): void {
    this.addSql('DROP TABLE gqlauth_login_failure');
  }
}

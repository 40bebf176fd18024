/**
 * The TOTP second factor (src/auth/totp-devices.ts) and its recovery codes (src/auth/recovery-codes.ts). A device
 * keeps its secret encrypted (AES-256-GCM, src/auth/secret-box.ts), never in clear: a copy of the table gives nobody
 * the codes. A recovery code is kept as a keyed hash, never as the code. Deleting the user deletes both. Read and
 * written in SQL, as the access tokens are: no entity, and listed in PROJECT_TABLES.
 */
import { Migration } from '@mikro-orm/migrations';

export class Migration20261207000000_second_factor extends Migration {
  override up(): void {
    this.addSql(`CREATE TABLE gqlauth_totp_device (
      id serial PRIMARY KEY,
      user_id integer NOT NULL UNIQUE REFERENCES auth_user (id) ON DELETE CASCADE,
      secret varchar(200) NOT NULL,
      confirmed boolean NOT NULL DEFAULT false,
      last_used_step bigint,
      created_at timestamp with time zone NOT NULL,
      confirmed_at timestamp with time zone
    )`);
    this.addSql(`CREATE TABLE gqlauth_recovery_code (
      id serial PRIMARY KEY,
      user_id integer NOT NULL REFERENCES auth_user (id) ON DELETE CASCADE,
      code_hash varchar(80) NOT NULL,
      used_at timestamp with time zone
    )`);
    this.addSql('CREATE INDEX gqlauth_recovery_code_user_id ON gqlauth_recovery_code (user_id)');
  }

  override down(): void {
    this.addSql('DROP TABLE gqlauth_recovery_code');
    this.addSql('DROP TABLE gqlauth_totp_device');
  }
}

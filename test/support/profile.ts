/**
 * An application's own table, one-to-one with auth_user: the example of "Adding fields to the user" in
 * docs/identity.md, as a schema author writes it (src/entities/profile.ts and a migration).
 */
import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { Migration } from '@mikro-orm/migrations';
import { User } from '../../src/entities/user.js';

export const Profile = defineEntity({
  name: 'Profile',
  tableName: 'accounts_profile',
  properties: {
    user: () => p.oneToOne(User).primary().deleteRule('cascade'),
    phoneNumber: p.string().length(32),
    organization: p.string().length(100),
  },
});
export type Profile = InferEntity<typeof Profile>;

class Migration20261201000000_profile extends Migration {
  override up(): void {
    this.addSql(`CREATE TABLE accounts_profile (
      user_id integer PRIMARY KEY REFERENCES auth_user (id) ON DELETE CASCADE,
      phone_number varchar(32) NOT NULL,
      organization varchar(100) NOT NULL DEFAULT ''
    )`);
  }
}

/** The profile's migration, as an entry of src/db/migrations/index.ts's list. */
export const profileMigration = { name: 'Migration20261201000000_profile', class: Migration20261201000000_profile };

/**
 * The migrations, in the order they run. `npx mikro-orm migration:create` writes a new file into this folder;
 * add its class to this list (a test fails while a migration file is not listed).
 *
 * The list is explicit, rather than globbed from the folder at run time, so that migrations run the same way
 * under tsx, Jest and compiled JavaScript.
 */
import type { MigrationObject } from '@mikro-orm/core';
import { Migration20261123000000_auth } from './Migration20261123000000_auth.js';
import { Migration20261123010000_sessions } from './Migration20261123010000_sessions.js';
import { Migration20261123020000_object_permissions } from './Migration20261123020000_object_permissions.js';
import { Migration20261123040000_lockout } from './Migration20261123040000_lockout.js';
import { Migration20261123050000_authz_version } from './Migration20261123050000_authz_version.js';
import { Migration20261206000000_email_lookup } from './Migration20261206000000_email_lookup.js';
import { Migration20261206030000_audit_event } from './Migration20261206030000_audit_event.js';
import { Migration20261206030000_access_tokens } from './Migration20261206030000_access_tokens.js';
import { Migration20261207000000_second_factor } from './Migration20261207000000_second_factor.js';
import { Migration20261207010000_external_identity } from './Migration20261207010000_external_identity.js';

export const migrations: MigrationObject[] = [
  { name: 'Migration20261123000000_auth', class: Migration20261123000000_auth },
  { name: 'Migration20261123010000_sessions', class: Migration20261123010000_sessions },
  { name: 'Migration20261123020000_object_permissions', class: Migration20261123020000_object_permissions },
  { name: 'Migration20261123040000_lockout', class: Migration20261123040000_lockout },
  { name: 'Migration20261123050000_authz_version', class: Migration20261123050000_authz_version },
  { name: 'Migration20261206000000_email_lookup', class: Migration20261206000000_email_lookup },
  { name: 'Migration20261206030000_audit_event', class: Migration20261206030000_audit_event },
  { name: 'Migration20261206030000_access_tokens', class: Migration20261206030000_access_tokens },
  { name: 'Migration20261207000000_second_factor', class: Migration20261207000000_second_factor },
  { name: 'Migration20261207010000_external_identity', class: Migration20261207010000_external_identity },
];

/**
 * gqlauth_access_token: a personal access token's row (src/auth/access-tokens.ts reads and writes it in SQL). Never
 * the token: its public id in clear, and a keyed hash of the whole.
 */
import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

export const AccessToken = defineEntity({
  name: 'AccessToken',
  tableName: 'gqlauth_access_token',
  properties: {
    id: p.integer().primary().autoincrement(),
    userId: p.integer(),
    name: p.string().length(100),
    publicId: p.string().length(32).unique(),
    secretHash: p.string().length(64).hidden().lazy(),
    authHash: p.string().length(64).hidden().lazy(),
    /** The permissions it is limited to (`app_label.codename`); null for all of its owner's. */
    scopes: p.json<string[]>().nullable(),
    createdAt: p.datetime(),
    expiresAt: p.datetime(),
    lastUsedAt: p.datetime().nullable(),
    createdById: p.integer().nullable(),
  },
});
export type AccessToken = InferEntity<typeof AccessToken>;

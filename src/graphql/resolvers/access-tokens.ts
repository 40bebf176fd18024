/** Personal access tokens (schema/access-tokens.graphql): each operation is one call of the token use-cases. */
import { AccessTokenService } from '../../services/access-tokens.js';
import type { GraphQLContext } from '../context.js';
import type { Resolvers } from '../generated/resolvers.js';
import { idOf } from '../ids.js';

/** The token use-cases over this request's caller, database and permission checks. */
function service({ em, authCore, config, permissions, auth, accessTokens, clock }: GraphQLContext) {
  return new AccessTokenService({
    em,
    core: authCore,
    tokens: accessTokens,
    clock,
    config,
    permissions,
    session: auth,
  });
}

export const accessTokenResolvers: Resolvers = {
  Query: {
    myAccessTokens: (_parent, _args, context) => service(context).list(),
    accessTokens: (_parent, { userId }, context) => service(context).list(idOf(userId, 'userId')),
  },
  Mutation: {
    createAccessToken: (_parent, { input }, context) =>
      service(context).create({
        name: input.name,
        expiresAt: input.expiresAt,
        scopes: input.scopes,
        userId: input.userId === null || input.userId === undefined ? null : idOf(input.userId, 'userId'),
      }),
    revokeAccessToken: (_parent, { id }, context) => service(context).revoke(idOf(id, 'id')),
  },
  AccessToken: {
    id: (token) => String(token.id),
    scopes: (token) => (token.scopes === null ? null : [...token.scopes]),
  },
};

/** OpenID Connect login (schema/oidc.graphql): each operation is one call of the OIDC use-cases. */
import { ExternalIdentityService } from '../../services/external-identities.js';
import { OidcLogins } from '../../services/oidc-logins.js';
import type { GraphQLContext } from '../context.js';
import type { Resolvers } from '../generated/resolvers.js';

function logins({ em, authCore, config, auth, oidc, logger }: GraphQLContext): OidcLogins {
  return new OidcLogins({
    em,
    core: authCore,
    config,
    session: auth,
    clients: oidc.clients,
    flows: oidc.flows,
    logger,
  });
}

function identities({ em, authCore, auth, config }: GraphQLContext): ExternalIdentityService {
  const providers = config.oidc.providers.map((provider) => provider.name);
  return new ExternalIdentityService({ em, core: authCore, session: auth, providers });
}

export const oidcResolvers: Resolvers = {
  Query: {
    oidcProviders: (_parent, _args, context) => logins(context).providers(),
    myExternalIdentities: (_parent, _args, context) => identities(context).list(),
  },
  Mutation: {
    oidcLoginUrl: async (_parent, { provider }, context) => {
      const { url, flow } = await logins(context).start(provider);
      context.oidc.cookie.write(flow);
      return url;
    },
    oidcLinkUrl: async (_parent, { provider }, context) => {
      const { url, flow } = await logins(context).startLink(provider);
      context.oidc.cookie.write(flow);
      return url;
    },
    unlinkExternalIdentity: (_parent, { provider }, context) => identities(context).unlink(provider),
  },
};

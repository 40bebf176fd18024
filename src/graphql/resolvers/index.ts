/**
 * All resolvers, one module per schema domain (`schema/<domain>.graphql` ↔ `resolvers/<domain>.ts`).
 */
import { DateTimeResolver, EmailAddressResolver, JSONObjectResolver } from 'graphql-scalars';
import type { Resolvers } from '../generated/resolvers.js';
import { accessTokenResolvers } from './access-tokens.js';
import { adminResolvers } from './admin.js';
import { auditResolvers } from './audit.js';
import { authResolvers } from './auth.js';
import { oidcResolvers } from './oidc.js';
import { secondFactorResolvers } from './second-factor.js';
import { serverResolvers } from './server.js';

export const scalarResolvers: Resolvers = {
  DateTime: DateTimeResolver,
  EmailAddress: EmailAddressResolver,
  JSONObject: JSONObjectResolver,
};

export const resolvers: Resolvers[] = [
  scalarResolvers,
  serverResolvers,
  authResolvers,
  adminResolvers,
  auditResolvers,
  accessTokenResolvers,
  oidcResolvers,
  secondFactorResolvers,
];

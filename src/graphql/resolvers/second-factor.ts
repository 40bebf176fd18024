/** The second factor's API (schema/second-factor.graphql): each operation is one call of its use-cases. */
import { SecondFactor } from '../../services/second-factor.js';
import type { GraphQLContext } from '../context.js';
import { idOf } from '../ids.js';
import type { Resolvers } from '../generated/resolvers.js';

/** The second factor's use-cases over this request's session, database and counters. */
function secondFactor({ em, authCore, logger, lockout, auth, secondFactor: parts }: GraphQLContext): SecondFactor {
  return new SecondFactor({ em, core: authCore, logger, lockout, session: auth, ...parts });
}

export const secondFactorResolvers: Resolvers = {
  Query: {
    mySecondFactor: (_parent, _args, context) => secondFactor(context).status(),
  },
  Mutation: {
    startTotpEnrollment: (_parent, _args, context) => secondFactor(context).startEnrollment(),
    confirmTotp: (_parent, { code }, context) => secondFactor(context).confirm(code),
    disableTotp: (_parent, { password, code }, context) =>
      secondFactor(context).disable(password, code, { ip: context.clientIp }),
    regenerateRecoveryCodes: (_parent, _args, context) => secondFactor(context).regenerateRecoveryCodes(),
    verifyTotp: (_parent, { code }, context) =>
      secondFactor(context).verifyPendingLogin('totp', code, {
        ip: context.clientIp,
        deviceCookie: context.deviceCookie.read(),
      }),
    verifyRecoveryCode: (_parent, { code }, context) =>
      secondFactor(context).verifyPendingLogin('recovery_code', code, {
        ip: context.clientIp,
        deviceCookie: context.deviceCookie.read(),
      }),
    reauthenticate: (_parent, { password, code }, context) =>
      secondFactor(context).reauthenticate(password, code, { ip: context.clientIp }),
    resetUserSecondFactor: (_parent, { userId }, context) => secondFactor(context).reset(idOf(userId, 'userId')),
  },
};

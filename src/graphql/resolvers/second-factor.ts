/** The second factor's API (schema/second-factor.graphql): each operation is one call of its use-cases. */
import type { SecondFactorMethod } from '../../auth/session-auth.js';
import type { User } from '../../entities/user.js';
import { SecondFactor } from '../../services/second-factor.js';
import type { GraphQLContext } from '../context.js';
import { idOf } from '../ids.js';
import type { Resolvers } from '../generated/resolvers.js';

/** The second factor's use-cases over this request's session, database and counters. */
function secondFactor({ em, authCore, logger, lockout, auth, secondFactor: parts }: GraphQLContext): SecondFactor {
  return new SecondFactor({ em, core: authCore, logger, lockout, session: auth, ...parts });
}

/** Completes the pending login; the browser gets its device cookie with the session. */
async function verified(context: GraphQLContext, method: SecondFactorMethod, code: string): Promise<User> {
  const { clientIp: ip, deviceCookie } = context;
  const done = await secondFactor(context).verifyPendingLogin(method, code, { ip, deviceCookie: deviceCookie.read() });
  if (done.deviceCookie) deviceCookie.write(done.deviceCookie);
  return done.user;
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
    regenerateRecoveryCodes: (_parent, { password, code }, context) =>
      secondFactor(context).regenerateRecoveryCodes(password, code, { ip: context.clientIp }),
    verifyTotp: (_parent, { code }, context) => verified(context, 'totp', code),
    verifyRecoveryCode: (_parent, { code }, context) => verified(context, 'recovery_code', code),
    reauthenticate: (_parent, { password, code }, context) =>
      secondFactor(context).reauthenticate(password, code, { ip: context.clientIp }),
    resetUserSecondFactor: (_parent, { userId }, context) => secondFactor(context).reset(idOf(userId, 'userId')),
  },
};

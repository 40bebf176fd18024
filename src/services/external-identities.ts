/**
 * A user's links to provider accounts (src/auth/external-identities.ts): listed, and removed unless the link is the
 * only way left to log in to the account.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { ValidationError, type Auth } from '../auth/index.js';
import type { ExternalIdentity } from '../auth/external-identities.js';
import { storedHash } from '../auth/passwords.js';
import { selectOne } from '../db/sql.js';
import { NotLoggedIn, SessionRequired } from './errors.js';
import type { SessionFlow } from './session-flow.js';

export interface ExternalIdentityDeps {
  readonly em: EntityManager;
  readonly core: Pick<Auth, 'externalIdentities' | 'hashers' | 'events'>;
  readonly session: Pick<SessionFlow, 'user' | 'assertNotImpersonating' | 'accessToken'>;
  /** The providers configured now (OIDC_PROVIDERS): a link to one no longer there is no way in. */
  readonly providers: readonly string[];
}

export class ExternalIdentityService {
  constructor(private readonly deps: ExternalIdentityDeps) {}

  async list(): Promise<ExternalIdentity[]> {
    const { em, core } = this.deps;
    return core.externalIdentities.listFor(em, (await this.loggedIn()).id);
  }

  async unlink(provider: string): Promise<boolean> {
    const { em, core, session, providers } = this.deps;
    // Removing a way to log in is the account's business, not a script's, however narrow its token's scopes.
    if (session.accessToken) throw new SessionRequired();
    const user = await this.loggedIn();
    // Whoever impersonates acts for support: removing a way to log in is the owner's to do.
    await session.assertNotImpersonating();
    const removed = await em.transactional(async (tx) => {
      // The user's row locked: two unlinks at once cannot each count the other's link as the way left in.
      await selectOne(tx, 'SELECT id FROM auth_user WHERE id = ? FOR UPDATE', [user.id]);
      const links = await core.externalIdentities.listFor(tx, user.id);
      if (!links.some((link) => link.provider === provider)) return false;
      const password = (await storedHash(tx, user.id)) ?? '';
      // The account would be left with no way in: no usable password, no other provider still configured.
      const otherWayIn = links.some((link) => link.provider !== provider && providers.includes(link.provider));
      if (!otherWayIn && !core.hashers.isUsable(password))
        throw new ValidationError([
          {
            code: 'last_login_method',
            message: 'This is your only way to log in: set a password or link another provider first.',
            field: 'provider',
          },
        ]);
      return core.externalIdentities.unlink(tx, user.id, provider);
    });
    if (!removed) return false;
    await core.events.emit('externalIdentityUnlinked', { actorId: user.id, userId: user.id, provider });
    return true;
  }

  private async loggedIn() {
    const user = await this.deps.session.user();
    if (!user) throw new NotLoggedIn();
    return user;
  }
}

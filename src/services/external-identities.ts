/**
 * A user's links to provider accounts (src/auth/external-identities.ts): listed, and removed unless the link is the
 * only way left to log in to the account.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { ValidationError, type Auth } from '../auth/index.js';
import type { ExternalIdentity } from '../auth/external-identities.js';
import { storedHash } from '../auth/passwords.js';
import { NotLoggedIn } from './errors.js';
import type { SessionFlow } from './session-flow.js';

export interface ExternalIdentityDeps {
  readonly em: EntityManager;
  readonly core: Pick<Auth, 'externalIdentities' | 'hashers' | 'events'>;
  readonly session: Pick<SessionFlow, 'user' | 'assertNotImpersonating'>;
}

export class ExternalIdentityService {
  constructor(private readonly deps: ExternalIdentityDeps) {}

  async list(): Promise<ExternalIdentity[]> {
    const { em, core } = this.deps;
    return core.externalIdentities.listFor(em, (await this.loggedIn()).id);
  }

  async unlink(provider: string): Promise<boolean> {
    const { em, core, session } = this.deps;
    const user = await this.loggedIn();
    // Whoever impersonates acts for support: removing a way to log in is the owner's to do.
    await session.assertNotImpersonating();
    const links = await core.externalIdentities.listFor(em, user.id);
    if (!links.some((link) => link.provider === provider)) return false;
    const password = (await storedHash(em, user.id)) ?? '';
    // The account would be left with no way in: no usable password, no other provider.
    if (links.every((link) => link.provider === provider) && !core.hashers.isUsable(password))
      throw new ValidationError([
        {
          code: 'last_login_method',
          message: 'This is your only way to log in: set a password or link another provider first.',
          field: 'provider',
        },
      ]);
    if (!(await core.externalIdentities.unlink(em, user.id, provider))) return false;
    await core.events.emit('externalIdentityUnlinked', { actorId: user.id, userId: user.id, provider });
    return true;
  }

  private async loggedIn() {
    const user = await this.deps.session.user();
    if (!user) throw new NotLoggedIn();
    return user;
  }
}

/**
 * The session's user as one row (src/auth/user-row.ts): the entity made from it is not managed (no identity-map entry,
 * no snapshot: the cost of every authenticated request), so a flush never writes it; merged into a user the request
 * loaded already, it leaves that one's snapshot exact, and a flush writes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { loadUserRow, sessionUserOf } from '../../src/auth/user-row.js';
import { User } from '../../src/entities/user.js';
import { createAuthFixture, type AuthFixture } from '../support/auth.js';

describe('the session user made from its row', () => {
  let fixture: AuthFixture;
  let userId: number;

  beforeAll(async () => {
    fixture = await createAuthFixture();
    const em = fixture.em();
    const user = await fixture.auth.users.createUser(em, { username: 'row-user', password: 'a-long-password-1' });
    // Microseconds, as Django stores them: a round trip through a Date would lose them.
    await em
      .getConnection()
      .execute("UPDATE auth_user SET last_login = '2026-01-02 03:04:05.678901+00' WHERE id = ?", [user.id]);
    userId = user.id;
  });
  afterAll(() => fixture.close());

  const changeSets = (em: ReturnType<AuthFixture['em']>) => {
    const unitOfWork = em.getUnitOfWork();
    unitOfWork.computeChangeSets();
    return unitOfWork.getChangeSets().map((changeSet) => changeSet.payload);
  };

  it('has its columns under their property names, and the hash apart', async () => {
    const em = fixture.em();
    const row = await loadUserRow(em, userId);
    if (!row) throw new Error('no row');
    const { user, passwordHash } = sessionUserOf(em, row);
    expect(user).toMatchObject({ id: userId, username: 'row-user', isActive: true, isSuperuser: false });
    expect(user.lastLogin).toBeInstanceOf(Date);
    expect(user.dateJoined).toBeInstanceOf(Date);
    expect(passwordHash).toMatch(/^argon2\$/);
    // Not managed: the request's EntityManager loads a user of its own when a use-case changes one.
    expect(em.getUnitOfWork().getById(User, userId)).toBeUndefined();
  });

  it('gives a flush nothing to write, even changed: the session user is read, never written through', async () => {
    const em = fixture.em();
    const row = await loadUserRow(em, userId);
    if (!row) throw new Error('no row');
    const { user } = sessionUserOf(em, row);
    user.firstName = 'Ada';
    expect(changeSets(em)).toEqual([]);
    await em.flush();
    const [stored] = await fixture
      .em()
      .getConnection()
      .execute<{ first_name: string; last_login: string }[]>(
        'SELECT first_name, last_login::text FROM auth_user WHERE id = ?',
        [userId],
      );
    // Microseconds kept: nothing wrote the row back through a Date.
    expect(stored).toEqual({ first_name: '', last_login: '2026-01-02 03:04:05.678901+00' });
  });

  it('merges into a user the request already loaded, and still writes nothing', async () => {
    const em = fixture.em();
    const loaded = await em.findOneOrFail(User, userId);
    const row = await loadUserRow(em, userId);
    if (!row) throw new Error('no row');
    expect(sessionUserOf(em, row).user).toBe(loaded);
    expect(changeSets(em)).toEqual([]);
  });
});

/**
 * The session's user as one row (src/auth/user-row.ts): the entity made from it is managed exactly as a loaded one
 * is. A flush after it writes nothing unless something was changed, and then only that.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { loadUserRow, sessionUserOf } from '../../src/auth/user-row.js';
import { Group } from '../../src/entities/group.js';
import { Permission } from '../../src/entities/permission.js';
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
    // Managed by the request's EntityManager, as if it had loaded it.
    expect(em.getUnitOfWork().getById(User, userId)).toBe(user);
  });

  it('has plain properties for its columns, while relations keep the bookkeeping of MikroORM (plainColumns)', async () => {
    const em = fixture.em();
    const row = await loadUserRow(em, userId);
    if (!row) throw new Error('no row');
    const { user } = sessionUserOf(em, row);
    // A column is a value of the entity itself: no accessor redefined on each instance at its first write.
    expect(Object.getOwnPropertyDescriptor(user, 'username')).toEqual({
      value: 'row-user',
      writable: true,
      enumerable: true,
      configurable: true,
    });
    // A relation keeps MikroORM's setter (a removed entity's referrers are cleared through it), on a loaded entity too.
    const permission = await em.findOneOrFail(Permission, { codename: 'add_user' });
    expect(typeof Object.getOwnPropertyDescriptor(permission, 'contentType')?.get).toBe('function');
    expect(Object.getOwnPropertyDescriptor(permission, 'codename')).toHaveProperty('value', 'add_user');
  });

  it('gives a flush nothing to write when unchanged, and only the change otherwise', async () => {
    const em = fixture.em();
    const row = await loadUserRow(em, userId);
    if (!row) throw new Error('no row');
    const { user } = sessionUserOf(em, row);
    expect(changeSets(em)).toEqual([]);
    user.firstName = 'Ada';
    expect(changeSets(em)).toEqual([{ firstName: 'Ada' }]);
    await em.flush();
    const [stored] = await fixture
      .em()
      .getConnection()
      .execute<{ first_name: string; last_login: string }[]>(
        'SELECT first_name, last_login::text FROM auth_user WHERE id = ?',
        [userId],
      );
    expect(stored).toEqual({ first_name: 'Ada', last_login: '2026-01-02 03:04:05.678901+00' });
  });

  it('merges into a user the request already loaded, and still writes nothing', async () => {
    const em = fixture.em();
    const loaded = await em.findOneOrFail(User, userId);
    const row = await loadUserRow(em, userId);
    if (!row) throw new Error('no row');
    expect(sessionUserOf(em, row).user).toBe(loaded);
    expect(changeSets(em)).toEqual([]);
  });

  it("makes the user's groups managed too, with nothing to write, from the cache as from the database", async () => {
    const setup = fixture.em();
    const group = setup.create(Group, { name: 'row-readers' });
    await setup.flush();
    await setup
      .getConnection()
      .execute('INSERT INTO auth_user_groups (user_id, group_id) VALUES (?, ?)', [userId, group.id]);
    // Twice: the second request's groups come from the authorization cache shared between requests.
    for (let request = 0; request < 2; request++) {
      const em = fixture.em();
      const row = await loadUserRow(em, userId);
      if (!row) throw new Error('no row');
      const { user } = sessionUserOf(em, row);
      const [managed] = await fixture.auth.permissions(em).getGroups(user);
      expect(managed).toMatchObject({ id: group.id, name: 'row-readers' });
      expect(em.getUnitOfWork().getById(Group, group.id)).toBe(managed);
      expect(changeSets(em)).toEqual([]);
      if (!managed) throw new Error('no group');
      managed.name = 'row-renamed';
      expect(changeSets(em)).toEqual([{ name: 'row-renamed' }]);
    }
  });
});

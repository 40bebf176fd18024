/**
 * Two servers behind one load balancer, sharing PostgreSQL (and Redis for sessions): whatever one does, the other
 * sees at its next request. Sessions and passwords are read per request; users' groups and permissions are kept
 * between requests under the authorization version (src/auth/authorization-cache.ts): these tests prove that a
 * change through one server, or straight in the database, reaches a warm cache in the other. On each session store.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { createAuth } from '../src/auth/index.js';
import { User } from '../src/entities/user.js';
import { CHEAP_HASHING } from './support/auth.js';
import { createTestApp, type TestApp } from './support/app.js';
import { HttpClient } from './support/http-client.js';
import { startReplica, type Replica } from './support/replica.js';
import { describeEachStore } from './support/session-stores.js';
import { loggedInClient, sessionCookieValue, whoAmI } from './support/sessions.js';

describeEachStore('two replicas', (sessionStore) => {
  let a: TestApp;
  let b: Replica;
  beforeAll(async () => {
    a = await createTestApp({ sessionStore, env: CHEAP_HASHING });
    b = await startReplica(a, CHEAP_HASHING);
    const em = a.database.orm.em.fork();
    const auth = createAuth(a.config);
    await auth.users.createSuperuser(em, { username: 'root', password: 'root-pass-1' });
    for (const username of ['alice', 'bob', 'carol'])
      await auth.users.createUser(em, { username, password: `${username}-pass-1` });
  });
  afterAll(async () => {
    await b.stop();
    await a.stop();
  });

  /** The same browser (its session cookie) talking to B: the balancer sent its next request there. */
  async function onB(client: HttpClient): Promise<HttpClient> {
    const other = new HttpClient(b.url);
    await other.jar.setCookie(`sessionid=${(await sessionCookieValue(client, a.url)) ?? ''}; Path=/`, b.url);
    return other;
  }

  it('logs in on A, and B knows the user', async () => {
    const browser = await loggedInClient(a.url, 'alice', 'alice-pass-1');
    expect(await whoAmI(await onB(browser))).toBe('alice');
  });

  it('logs out on B, and the session is over on A too', async () => {
    const browser = await loggedInClient(a.url, 'bob', 'bob-pass-1');
    const sameOnB = await onB(browser);
    expect((await sameOnB.graphql('mutation { logout }')).body).toEqual({ data: { logout: true } });
    expect(await whoAmI(browser)).toBeNull();
  });

  it('changes a password on A, and the user’s other sessions end on B', async () => {
    const laptop = await loggedInClient(a.url, 'carol', 'carol-pass-1');
    const phone = await loggedInClient(a.url, 'carol', 'carol-pass-1');
    const phoneOnB = await onB(phone);
    expect(await whoAmI(phoneOnB)).toBe('carol');
    const changed = await laptop.graphql(
      'mutation { changePassword(oldPassword: "carol-pass-1", newPassword: "carols-new-secret-9") }',
    );
    expect(changed.body).toEqual({ data: { changePassword: true } });
    expect(await whoAmI(phoneOnB)).toBeNull();
    expect(await whoAmI(laptop)).toBe('carol');
  });

  it('revokes a permission through A, and B denies at the next request', async () => {
    const em = a.database.orm.em.fork();
    const alice = await em.findOneOrFail(User, { username: 'alice' });
    const admin = await loggedInClient(a.url, 'root', 'root-pass-1');
    const grant = (verb: 'grantPermission' | 'revokePermission') =>
      admin.graphql(`mutation ($u: ID!) { ${verb}(perm: "polls.add_poll", userId: $u) }`, { u: String(alice.id) });
    expect((await grant('grantPermission')).body.errors).toBeUndefined();
    const aliceOnB = await onB(await loggedInClient(a.url, 'alice', 'alice-pass-1'));
    // __typename: what the mutation itself allows, whatever reading a poll's fields needs (polls.view_poll).
    const create = () =>
      aliceOnB.graphql('mutation { createPoll(question: "Lunch?", choices: ["yes"]) { __typename } }');
    expect((await create()).body.errors).toBeUndefined();
    expect((await grant('revokePermission')).body).toEqual({ data: { revokePermission: true } });
    expect((await create()).body.errors?.map((error) => error.extensions?.code)).toEqual(['FORBIDDEN']);
  });

  it('takes a user out of a group straight in the database (as Django’s admin would), and both see it', async () => {
    const em = a.database.orm.em.fork();
    const dave = await createAuth(a.config).users.createUser(em, { username: 'dave', password: 'dave-pass-1' });
    const group = await a.database.orm.em
      .fork()
      .getConnection()
      .execute<{ id: number }[]>("INSERT INTO auth_group (name) VALUES ('pollsters') RETURNING id");
    const groupId = group[0]?.id;
    await em.getConnection().execute(
      `INSERT INTO auth_group_permissions (group_id, permission_id) SELECT ?, p.id FROM auth_permission p
         JOIN django_content_type ct ON ct.id = p.content_type_id WHERE ct.app_label = 'polls' AND p.codename = 'add_poll'`,
      [groupId],
    );
    await em
      .getConnection()
      .execute('INSERT INTO auth_user_groups (user_id, group_id) VALUES (?, ?)', [dave.id, groupId]);
    const onA = await loggedInClient(a.url, 'dave', 'dave-pass-1');
    const daveOnB = await onB(onA);
    const holds = async (client: HttpClient) =>
      (
        await client.graphql<{ me: { groups: { name: string }[]; permissions: string[] } }>(
          '{ me { groups { name } permissions } }',
        )
      ).body.data?.me;
    // Twice each: the second answer comes from each server's cache.
    for (let round = 0; round < 2; round++) {
      for (const client of [onA, daveOnB])
        expect(await holds(client)).toEqual({ groups: [{ name: 'pollsters' }], permissions: ['polls.add_poll'] });
    }
    await em.getConnection().execute('DELETE FROM auth_user_groups WHERE user_id = ?', [dave.id]);
    for (const client of [onA, daveOnB]) expect(await holds(client)).toEqual({ groups: [], permissions: [] });
  });
});

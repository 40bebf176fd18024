/**
 * A session store that cannot end sessions (down, or refusing deletes) answers SERVICE_UNAVAILABLE from every
 * operation that ends sessions, never a masked internal error; and the operation did not happen: a password is not
 * set and an account not deleted while its sessions could not be ended with it.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createAuth } from '../../src/auth/index.js';
import { User } from '../../src/entities/user.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { CHEAP_HASHING } from '../support/auth.js';
import { HttpClient, type GraphQLResponse } from '../support/http-client.js';
import { loggedInClient, whoAmI } from '../support/sessions.js';

const LOGIN = 'mutation ($u: String!, $p: String!) { login(username: $u, password: $p) { id } }';

const codes = (response: GraphQLResponse) => response.body.errors?.map((error) => error.extensions?.code);

describe('a session store that cannot end sessions', () => {
  let app: TestApp;
  let admin: HttpClient;
  const em = () => app.database.orm.em.fork();
  const connection = () => app.database.orm.em.getConnection();
  const newUser = (username: string) =>
    createAuth(app.config).users.createUser(em(), { username, password: `${username}-password-1` });

  beforeAll(async () => {
    app = await createTestApp({ env: CHEAP_HASHING });
    await createAuth(app.config).users.createUser(em(), {
      username: 'root',
      password: 'root-password-1',
      isSuperuser: true,
      isStaff: true,
    });
    admin = await loggedInClient(app.url, 'root', 'root-password-1');
    // Sessions are read and written as usual; only ending them fails, as when the store goes down mid-request.
    await connection().execute(
      `CREATE FUNCTION refuse_session_delete() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'session store down'; END $$ LANGUAGE plpgsql`,
    );
    await connection().execute(
      'CREATE TRIGGER refuse_session_delete BEFORE DELETE ON gqlauth_session FOR EACH ROW EXECUTE FUNCTION refuse_session_delete()',
    );
  });
  afterAll(async () => {
    await connection().execute('DROP TRIGGER refuse_session_delete ON gqlauth_session');
    await app.stop();
  });

  it('answers setUserPassword with SERVICE_UNAVAILABLE, the password unchanged and the session alive', async () => {
    const user = await newUser('sonia');
    const session = await loggedInClient(app.url, 'sonia', 'sonia-password-1');
    const response = await admin.graphql(
      'mutation ($id: ID!) { setUserPassword(id: $id, password: "a-new-secret-9") }',
      {
        id: String(user.id),
      },
    );
    expect(codes(response)).toEqual(['SERVICE_UNAVAILABLE']);
    expect(await whoAmI(session)).toBe('sonia');
    // The old password still works (from a new browser: a login there deletes no session).
    const login = await new HttpClient(app.url).graphql(LOGIN, { u: 'sonia', p: 'sonia-password-1' });
    expect(login.body.errors).toBeUndefined();
  });

  it('answers deleteUser with SERVICE_UNAVAILABLE, the account kept', async () => {
    const user = await newUser('dmitri');
    await loggedInClient(app.url, 'dmitri', 'dmitri-password-1');
    const response = await admin.graphql('mutation ($id: ID!) { deleteUser(id: $id) }', { id: String(user.id) });
    expect(codes(response)).toEqual(['SERVICE_UNAVAILABLE']);
    expect(await em().count(User, { id: user.id })).toBe(1);
  });

  it('answers logoutOtherSessions with SERVICE_UNAVAILABLE, the other session alive', async () => {
    await newUser('olga');
    const here = await loggedInClient(app.url, 'olga', 'olga-password-1');
    const other = await loggedInClient(app.url, 'olga', 'olga-password-1');
    const response = await here.graphql('mutation { logoutOtherSessions }');
    expect(codes(response)).toEqual(['SERVICE_UNAVAILABLE']);
    expect(await whoAmI(other)).toBe('olga');
  });
});

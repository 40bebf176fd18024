/**
 * Django's `request.user` over HTTP: a logged-in user, or the anonymous user, never null. Read by a field the test
 * adds to the schema, as a schema author's resolver would.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createAuth, isAuthenticated } from '../../src/auth/index.js';
import type { GraphQLContext } from '../../src/graphql/context.js';
import { buildSchema } from '../../src/graphql/schema.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { CHEAP_HASHING } from '../support/auth.js';
import { HttpClient } from '../support/http-client.js';
import { loggedInClient } from '../support/sessions.js';

const WHO = '{ requestUser { id username isAuthenticated isAnonymous isActive isStaff isSuperuser canViewUsers } }';

describe('request.user', () => {
  let app: TestApp;
  beforeAll(async () => {
    const schema = buildSchema({
      typeDefs: [
        `type RequestUser @public { id: ID, username: String!, isAuthenticated: Boolean!, isAnonymous: Boolean!,
           isActive: Boolean!, isStaff: Boolean!, isSuperuser: Boolean!, canViewUsers: Boolean! }
         extend type Query { requestUser: RequestUser! @public }`,
      ],
      resolvers: [
        {
          Query: {
            requestUser: async (_parent: unknown, _args: unknown, { auth, permissions }: GraphQLContext) => {
              const user = await auth.requestUser();
              return {
                id: user.id,
                username: user.username,
                isAuthenticated: isAuthenticated(user),
                isAnonymous: !isAuthenticated(user),
                isActive: user.isActive,
                isStaff: user.isStaff,
                isSuperuser: user.isSuperuser,
                canViewUsers: await permissions.hasPerm(user, 'auth.view_user'),
              };
            },
          },
        },
      ],
    });
    app = await createTestApp({ schema, env: CHEAP_HASHING });
    await createAuth(app.config).users.createSuperuser(app.database.orm.em.fork(), {
      username: 'root',
      email: 'root@example.com',
      password: 'root-password-1',
    });
  });
  afterAll(() => app.stop());

  it('is the anonymous user when nobody is logged in: every answer is no', async () => {
    expect((await new HttpClient(app.url).graphql(WHO)).body).toEqual({
      data: {
        requestUser: {
          id: null,
          username: '',
          isAuthenticated: false,
          isAnonymous: true,
          isActive: false,
          isStaff: false,
          isSuperuser: false,
          canViewUsers: false,
        },
      },
    });
  });

  it('is the logged-in user otherwise', async () => {
    const client = await loggedInClient(app.url, 'root', 'root-password-1');
    expect((await client.graphql(WHO)).body.data).toEqual({
      requestUser: expect.objectContaining({
        username: 'root',
        isAuthenticated: true,
        isAnonymous: false,
        isSuperuser: true,
        canViewUsers: true,
      }),
    });
  });
});

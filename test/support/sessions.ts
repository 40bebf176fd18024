/** Browser-like clients for session tests: logging one in, asking who it is, reading its session cookie. */
import { HttpClient } from './http-client.js';

const LOGIN = 'mutation ($u: String!, $p: String!) { login(username: $u, password: $p) { id } }';

/** A new client (one browser) logged in as `username`; throws if the login is refused. */
export async function loggedInClient(url: string, username: string, password: string): Promise<HttpClient> {
  const client = new HttpClient(url);
  const { errors } = (await client.graphql(LOGIN, { u: username, p: password })).body;
  if (errors) throw new Error(`login as ${username} failed: ${JSON.stringify(errors)}`);
  return client;
}

/** The username `me` answers for this client, or null when it is anonymous. */
export async function whoAmI(client: HttpClient): Promise<string | null> {
  return (
    (await client.graphql<{ me: { username: string } | null }>('{ me { username } }')).body.data?.me?.username ?? null
  );
}

/** The value of the client's session cookie for `url`, if it holds one. */
export async function sessionCookieValue(
  client: HttpClient,
  url: string,
  name = 'sessionid',
): Promise<string | undefined> {
  return (await client.jar.getCookies(url)).find((cookie) => cookie.key === name)?.value;
}

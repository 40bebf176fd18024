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

/** The session id in the client's (signed) session cookie: what the store keys the session by. */
export async function sessionIdOf(client: HttpClient, url: string, name = 'sessionid'): Promise<string | undefined> {
  const value = await sessionCookieValue(client, url, name);
  if (value === undefined) return undefined;
  // "s:<id>.<signature>", URL-encoded.
  const signed = decodeURIComponent(value);
  return signed.startsWith('s:') ? signed.slice(2, signed.lastIndexOf('.')) : undefined;
}

/**
 * An HTTP client that keeps cookies like a browser (tough-cookie applies Domain, Path, Secure, expiry),
 * with a helper for GraphQL operations.
 */
import { CookieJar } from 'tough-cookie';

export interface GraphQLResponse<TData = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: {
    data?: TData | null;
    errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
  };
}

export interface HttpClientOptions {
  /**
   * Browsers treat http://localhost and 127.0.0.1 as secure, so Secure cookies work there (the default here too).
   * false makes the loopback server behave like a remote plain-HTTP origin: Secure cookies are dropped, as a
   * browser drops them behind a TLS-terminating proxy that the server does not know about.
   */
  loopbackIsSecure?: boolean;
}

export class HttpClient {
  readonly jar: CookieJar;

  constructor(
    readonly baseUrl: string,
    { loopbackIsSecure = true }: HttpClientOptions = {},
  ) {
    this.jar = new CookieJar(undefined, { allowSecureOnLocal: loopbackIsSecure });
  }

  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const url = new URL(path, this.baseUrl).toString();
    const headers = new Headers(init.headers);
    const cookie = await this.jar.getCookieString(url);
    if (cookie) headers.set('cookie', cookie);
    const response = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const setCookie of response.headers.getSetCookie()) {
      await this.jar.setCookie(setCookie, url, { ignoreError: true });
    }
    return response;
  }

  /** POSTs a GraphQL operation as JSON, as Apollo Sandbox and most clients do. */
  async graphql<TData = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    headers: Record<string, string> = {},
  ): Promise<GraphQLResponse<TData>> {
    const response = await this.fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ query, ...(variables ? { variables } : {}) }),
    });
    return {
      status: response.status,
      headers: response.headers,
      body: (await response.json()) as GraphQLResponse<TData>['body'],
    };
  }
}

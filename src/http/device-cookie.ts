/**
 * The device cookie (src/auth/device-cookie.ts) on the wire: read from the request's Cookie header, set on the
 * response with the session cookie's path, domain, Secure and SameSite, for LOCKOUT_DEVICE_COOKIE_AGE.
 */
import type { Request } from 'express';
import type { Config } from '../config/index.js';
import type { DeviceCookieJar as DeviceCookie } from '../graphql/context.js';

export class DeviceCookieJar implements DeviceCookie {
  constructor(
    private readonly req: Request,
    private readonly config: Config,
  ) {}

  /** The value the browser sent, if any (the first of that name, as browsers send the most specific path first). */
  read(): string | undefined {
    const name = this.config.lockout.deviceCookieName;
    for (const pair of (this.req.get('cookie') ?? '').split(';')) {
      const separator = pair.indexOf('=');
      if (separator > 0 && pair.slice(0, separator).trim() === name) return pair.slice(separator + 1).trim();
    }
    return undefined;
  }

  write(value: string): void {
    const { cookiePath, cookieDomain, cookieSecure, sameSite } = this.config.session;
    // As express-session does for the session cookie: a Secure cookie on what looks like plain HTTP is not sent.
    if (cookieSecure && !this.req.secure) return;
    this.req.res?.cookie(this.config.lockout.deviceCookieName, value, {
      // Script never needs it: an XSS must not carry it to another browser.
      httpOnly: true,
      secure: cookieSecure,
      sameSite,
      path: cookiePath,
      maxAge: this.config.lockout.deviceCookieAgeSeconds * 1000,
      ...(cookieDomain ? { domain: cookieDomain } : {}),
    });
  }
}

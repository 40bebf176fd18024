/**
 * Django's AnonymousUser: who a request is when nobody is logged in. It answers every question a user answers,
 * with "no": not authenticated, not active, not staff, no groups, no permissions, no username, no id. Code that
 * protects something asks `isAuthenticated` or a permission, and never needs a null check to refuse.
 */
import type { User } from '../entities/user.js';

export interface AnonymousUser {
  readonly id: null;
  readonly username: '';
  readonly isActive: false;
  readonly isStaff: false;
  readonly isSuperuser: false;
  readonly isAnonymous: true;
  readonly isAuthenticated: false;
}

export const ANONYMOUS_USER: AnonymousUser = Object.freeze({
  id: null,
  username: '',
  isActive: false,
  isStaff: false,
  isSuperuser: false,
  isAnonymous: true,
  isAuthenticated: false,
});

/** Django's `request.user`: a user, or the anonymous user. */
export type RequestUser = User | AnonymousUser;

/** Django's `user.is_anonymous`. */
export function isAnonymous(user: RequestUser | null | undefined): user is AnonymousUser | null | undefined {
  return !user || (user as Partial<AnonymousUser>).isAnonymous === true;
}

/** Django's `user.is_authenticated`. */
export function isAuthenticated(user: RequestUser | null | undefined): user is User {
  return !isAnonymous(user);
}

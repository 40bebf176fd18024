/**
 * What the directives ask of a request, and nothing more: who the user is, Django's `has_perm`, and guardian's
 * object-level check. The server implements it over its sessions and tables (src/graphql/authorization.ts); tests
 * implement it with a few lines (a fake that answers from a list), and so can a schema author's own server.
 */

/** A primary key. guardian keeps them as text: 42 and '42' name the same object. */
export type ObjectKey = string | number;

/** The request's user, as far as the directives and policies need it. */
export interface AuthorizationUser {
  readonly id: ObjectKey;
  readonly isStaff: boolean;
  readonly isSuperuser: boolean;
}

/** One per request. Implementations answer from what they loaded once for the request, and batch object checks. */
export interface Authorization {
  /** The logged-in, active user; null for an anonymous request (an inactive user is anonymous here). */
  user(): Promise<AuthorizationUser | null>;
  /** Django's `user.has_perm(perm)`, at the model level: direct, through a group, or as a superuser. */
  hasPerm(perm: string): Promise<boolean>;
  /**
   * Of these keys of objects of `model` (`app_label.model`, Django's content type), those the user holds `perm` on,
   * as text: a model-level grant of that model covers them all, an object-level grant its object. A permission of
   * another model never counts. `model` undefined: the permission's own model (an id argument names an object of
   * the permission's model).
   */
  permittedKeys(perm: string, model: string | undefined, keys: readonly ObjectKey[]): Promise<ReadonlySet<string>>;
  /**
   * For step-up (`@auth(recent)`): how many seconds ago the user last proved who they are; undefined when that is not
   * known (an access token). Without it, every field asking for a recent authentication is refused.
   */
  authenticationAge?(): Promise<number | undefined>;
  /** What `@auth(stepUp: true)` accepts, in seconds (STEP_UP_MAX_AGE); without it, nothing is recent enough. */
  readonly stepUpMaxAgeSeconds?: number;
}

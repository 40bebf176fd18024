/**
 * Named policies: the rules no permission says ("the user themself", "a staff member", "may view the choice's
 * poll"), written once in code and named in the SDL with `@policy(name: "...")`, as Apollo Router's @policy and
 * Django's `user_passes_test`. A policy answers allow (true) or deny (anything else) for the request's user, the
 * object the field belongs to and the field's arguments.
 *
 *   const policies: Policies<MyContext> = {
 *     staff: { description: 'an active staff member', check: ({ user }) => user?.isStaff === true },
 *     // Batched: every check made while one response is built reaches `batch` at once (one query, not one each).
 *     author: { description: "the poll's author", batch: async (requests) => authorsOf(requests) },
 *   };
 */
import DataLoader from 'dataloader';
import type { Authorization, AuthorizationUser } from './authorization.js';

/** What a policy is asked about. */
export interface PolicyRequest<TContext = unknown> {
  /** The logged-in, active user, or null (anonymous). */
  readonly user: AuthorizationUser | null;
  /** The request's permission checks, for policies that combine a rule with a permission. */
  readonly authorization: Authorization;
  /** The object the field belongs to (for a type's policy, the object being read); the root value on root fields. */
  readonly parent: unknown;
  /** The field's arguments; `{}` for a type's policy (it is about the object, whichever field is read). */
  readonly args: Readonly<Record<string, unknown>>;
  readonly context: TContext;
}

export type PolicyCheck<TContext = unknown> = (request: PolicyRequest<TContext>) => boolean | Promise<boolean>;

export type Policy<TContext = unknown> =
  | {
      /** One line for readers of the code and the README: who passes. */
      readonly description: string;
      readonly check: PolicyCheck<TContext>;
    }
  | {
      readonly description: string;
      /** Every request of one response at once, answered in the same order: for policies that load data. */
      readonly batch: (requests: readonly PolicyRequest<TContext>[]) => Promise<readonly boolean[]>;
    };

/** The policies a schema may name, by name. */
export type Policies<TContext = unknown> = Readonly<Record<string, Policy<TContext>>>;

/** A policy name as the SDL may write it. */
export const POLICY_NAME = /^[A-Za-z][A-Za-z0-9_.:-]*$/;

/** Per request: one DataLoader per batched policy, so that its checks made in one tick are asked together. */
const loaders = new WeakMap<object, Map<string, DataLoader<PolicyRequest<never>, unknown>>>();

/**
 * Whether the policy allows the request. Only `true` allows: a policy that answers anything else (undefined from a
 * forgotten return, say) denies. A policy that throws fails the field (an unexpected error, logged and masked).
 */
export async function allows<TContext>(
  policy: Policy<TContext>,
  name: string,
  request: PolicyRequest<TContext>,
): Promise<boolean> {
  // Typed boolean, but written by hand: an answer that is not exactly true (a forgotten return) must deny.
  if ('check' in policy) return ((await policy.check(request)) as unknown) === true;
  const context = request.context as object;
  let perRequest = loaders.get(context);
  if (!perRequest) {
    perRequest = new Map<string, DataLoader<PolicyRequest<never>, unknown>>();
    loaders.set(context, perRequest);
  }
  let loader = perRequest.get(name) as DataLoader<PolicyRequest<TContext>, unknown> | undefined;
  if (!loader) {
    loader = new DataLoader<PolicyRequest<TContext>, unknown>(
      async (requests) => {
        const answers = await policy.batch(requests);
        if (answers.length !== requests.length) {
          throw new Error(`policy ${JSON.stringify(name)} answered ${answers.length} of ${requests.length} requests`);
        }
        return answers;
      },
      // Requests differ by object and arguments: gathered, never merged or remembered.
      { cache: false },
    );
    perRequest.set(name, loader);
  }
  return (await loader.load(request)) === true;
}

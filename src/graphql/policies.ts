/**
 * The named policies of the server's own schema (`@policy(name: "...")`), one rule each. An app adds its own through
 * buildSchema's `policies`; an app's come with it (`defineApp({ policies })`, examples/polls/resolvers.ts).
 */
import type { Policies } from './directives/index.js';
import type { GraphQLContext } from './context.js';

export const authPolicies: Policies<GraphQLContext> = {
  staff: {
    // Django's admin lets in only `is_active and is_staff`; a superuser is staff here (Django asks both of it).
    description: 'an active staff member (superusers count as staff)',
    check: ({ user }) => user !== null && (user.isStaff || user.isSuperuser),
  },
  selfOrUserViewer: {
    description:
      'the user themself, or a staff member who may view users (auth.view_user or auth.change_user, as in Django admin)',
    check: async ({ user, parent, authorization }) => {
      if (!user) return false;
      if ((parent as { id?: unknown }).id === user.id) return true;
      if (!user.isStaff && !user.isSuperuser) return false;
      return (await authorization.hasPerm('auth.view_user')) || authorization.hasPerm('auth.change_user');
    },
  },
};

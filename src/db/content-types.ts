/**
 * Django's content types and permissions: the models an app declares (Django's `Model._meta`: app label, name,
 * extra permissions), and what `migrate` makes of them afterwards, as Django's post_migrate `create_permissions`
 * does: add, change, delete and view for each model plus its own permissions, created when missing. Idempotent;
 * never renames or deletes (a Django project's rows stay as they are). An app declares its models in
 * `defineApp({ models })` (docs/apps.md).
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { run, selectAll } from './sql.js';

export interface ModelDefinition {
  /** The app the model belongs to: the part before the dot in `polls.add_poll`. */
  readonly appLabel: string;
  /** Lower-case model name: `poll` in `polls.add_poll`. */
  readonly model: string;
  /** Used in permission names: "Can add <verboseName>". */
  readonly verboseName: string;
  /** Extra permissions, as [codename, name]: `['close_poll', 'Can close a poll']`. */
  readonly permissions?: readonly (readonly [codename: string, name: string])[];
}

export const DEFAULT_ACTIONS = ['add', 'change', 'delete', 'view'] as const;

/** Django's own models, whose permissions every Django database has. */
export const authModels: readonly ModelDefinition[] = [
  { appLabel: 'auth', model: 'permission', verboseName: 'permission' },
  { appLabel: 'auth', model: 'group', verboseName: 'group' },
  {
    appLabel: 'auth',
    model: 'user',
    verboseName: 'user',
    // django-hijack's right, as a custom permission of the user model (Django's Meta.permissions).
    permissions: [['impersonate_user', 'Can impersonate user']],
  },
  { appLabel: 'contenttypes', model: 'contenttype', verboseName: 'content type' },
  // django.contrib.sessions' model: its view and delete permissions let staff list and end a user's sessions.
  { appLabel: 'sessions', model: 'session', verboseName: 'session' },
];

/**
 * The server's own models beyond Django's: their permissions are what its staff operations ask for
 * (`gqlauth.view_auditevent` for the audit log; staff holding the access token's manage other users' tokens, for
 * service accounts).
 */
export const serverModels: readonly ModelDefinition[] = [
  { appLabel: 'gqlauth', model: 'auditevent', verboseName: 'audit event' },
  { appLabel: 'gqlauth', model: 'accesstoken', verboseName: 'access token' },
];

/** The permissions a model gets, as [codename, name], in Django's order. */
export function permissionsOf(model: ModelDefinition): [codename: string, name: string][] {
  return [
    ...DEFAULT_ACTIONS.map((action): [string, string] => [
      `${action}_${model.model}`,
      `Can ${action} ${model.verboseName}`,
    ]),
    ...(model.permissions ?? []).map(([codename, name]): [string, string] => [codename, name]),
  ];
}

/** Returns how many permissions were created. */
export async function syncContentTypes(em: EntityManager, models: readonly ModelDefinition[]): Promise<number> {
  let created = 0;
  for (const model of models) {
    await run(
      em,
      `INSERT INTO django_content_type (app_label, model) VALUES (?, ?) ON CONFLICT (app_label, model) DO NOTHING`,
      [model.appLabel, model.model],
    );
    for (const [codename, name] of permissionsOf(model)) {
      created += await run(
        em,
        `INSERT INTO auth_permission (name, content_type_id, codename)
         SELECT ?, id, ? FROM django_content_type WHERE app_label = ? AND model = ?
         ON CONFLICT (content_type_id, codename) DO NOTHING`,
        [name, codename, model.appLabel, model.model],
      );
    }
  }
  return created;
}

/** Every permission of the database, `app_label.codename`, with the model it belongs to (`app_label.model`). */
export async function permissionCatalogue(em: EntityManager): Promise<{ perm: string; model: string }[]> {
  return selectAll<{ perm: string; model: string }>(
    em,
    `SELECT ct.app_label || '.' || p.codename AS perm, ct.app_label || '.' || ct.model AS model
       FROM auth_permission p JOIN django_content_type ct ON ct.id = p.content_type_id`,
  );
}

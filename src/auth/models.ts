/**
 * The models whose content types and permissions `migrate` creates (Django's post_migrate `create_permissions`):
 * add, change, delete and view for each, plus the custom permissions a model declares.
 * An app adds its models to `installedModels` (see docs/identity.md, "Permissions").
 */
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
  { appLabel: 'auth', model: 'user', verboseName: 'user' },
  { appLabel: 'contenttypes', model: 'contenttype', verboseName: 'content type' },
];

/** The polls example's models (schema/polls.graphql): `polls.view_poll`, `polls.add_choice`, ... */
export const pollsModels: readonly ModelDefinition[] = [
  { appLabel: 'polls', model: 'poll', verboseName: 'poll', permissions: [['close_poll', 'Can close a poll']] },
  { appLabel: 'polls', model: 'choice', verboseName: 'choice' },
];

/** Every model of this server. Apps append theirs here. */
export const installedModels: ModelDefinition[] = [...authModels, ...pollsModels];

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

/**
 * The permissions manifest: one line for every field a client can reach, sorted, with what it requires in words
 * (its type's guards and its own, joined by "and"). Committed as schema/permissions.txt, so that a change of who
 * may do what shows in review as a diff.
 */
import type { GraphQLSchema } from 'graphql';
import { reachableObjectTypes, type FieldRequirements, type Requirement } from './requirements.js';

/** A requirement in words. */
export function describeRequirement(requirement: Requirement): string {
  switch (requirement.kind) {
    case 'public':
      return 'public';
    case 'auth':
      return requirement.recent === undefined
        ? 'logged in'
        : requirement.recent === 'stepUp'
          ? 'logged in within STEP_UP_MAX_AGE'
          : `logged in within ${requirement.recent} s`;
    case 'policy':
      return `policy ${requirement.name}`;
    case 'perms':
      return requirement.perms.length === 1
        ? (requirement.perms[0] ?? '')
        : `${requirement.mode === 'all' ? 'all of' : 'any of'} ${requirement.perms.join(', ')}`;
    case 'objectPerm': {
      const { object, perm, model } = requirement;
      const name = model?.name ?? '';
      if (object.from === 'argument')
        return `${perm} on the object (of the permission's model) whose id is argument ${object.path.join('.')}`;
      if (object.from === 'parent') return `${perm} on the ${name} it belongs to`;
      const { shape } = object;
      if (shape.kind === 'object') return `${perm} on the ${name} returned`;
      if (shape.kind === 'list') return `${perm} on each ${name} returned (the others left out)`;
      return `${perm} on each ${name} of the page (its query returns only those)`;
    }
  }
}

export function permissionManifest(
  schema: GraphQLSchema,
  requirements: ReadonlyMap<string, FieldRequirements>,
): string {
  const rows: (readonly [string, string])[] = [];
  for (const type of reachableObjectTypes(schema)) {
    for (const field of Object.keys(type.getFields())) {
      const coordinate = `${type.name}.${field}`;
      const { onType = [], own = [] } = requirements.get(coordinate) ?? {};
      rows.push([coordinate, [...onType, ...own].map(describeRequirement).join(' and ')]);
    }
  }
  rows.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const width = Math.max(...rows.map(([coordinate]) => coordinate.length));
  return rows.map(([coordinate, text]) => `${coordinate.padEnd(width)}  ${text}`).join('\n') + '\n';
}

/**
 * The permissions the directives name, against those the database holds (Django's auth_permission with its content
 * types): a typo would deny everyone (and allow superusers) silently, and an object-level permission asked about
 * another model's objects would never be held. Pure: the caller reads the catalogue.
 */
import { permissionsNamed, type FieldRequirements } from './requirements.js';

/** One permission of the database: `polls.view_poll`, of the model `polls.poll`. */
export interface CatalogueEntry {
  readonly perm: string;
  readonly model: string;
}

/** One line per problem, sorted; empty when every permission exists, on the model it is asked about. */
export function permissionProblems(
  requirements: ReadonlyMap<string, FieldRequirements>,
  catalogue: readonly CatalogueEntry[],
): string[] {
  const known = new Set(catalogue.map((entry) => entry.perm));
  const modelsOf = new Map<string, string[]>();
  for (const { perm, model } of catalogue) modelsOf.set(perm, [...(modelsOf.get(perm) ?? []), model]);
  const problems: string[] = [];
  for (const name of permissionsNamed(requirements).filter((perm) => !known.has(perm))) {
    const where = [...requirements]
      .filter(([, { onType, own }]) =>
        [...onType, ...own].some(
          (need) =>
            (need.kind === 'perms' && need.perms.includes(name)) || (need.kind === 'objectPerm' && need.perm === name),
        ),
      )
      .map(([coordinate]) => coordinate);
    problems.push(`${JSON.stringify(name)} (${where.join(', ')}) is not a known permission`);
  }
  const wrongModel = new Set<string>();
  for (const [coordinate, { onType, own }] of requirements) {
    for (const need of [...onType, ...own]) {
      if (need.kind !== 'objectPerm' || !known.has(need.perm)) continue;
      if (!need.model) {
        // An id argument is of the permission's model: one codename on two models of an app names no single one.
        const several = modelsOf.get(need.perm) ?? [];
        if (several.length > 1)
          wrongModel.add(
            `${coordinate}: ${JSON.stringify(need.perm)} is a permission of several models (${several.sort().join(', ')}): ` +
              'objectArg cannot tell which one its id is of',
          );
        continue;
      }
      const models = modelsOf.get(need.perm) ?? [];
      if (models.includes(need.model.name)) continue;
      // Once per type for a type's guard, however many fields it has.
      const where = onType.includes(need) ? coordinate.slice(0, coordinate.indexOf('.')) : coordinate;
      wrongModel.add(
        `${where}: ${JSON.stringify(need.perm)} is a permission of ${models.join(', ')}, asked about a ${need.model.name}: ` +
          `a grant on one never opens the other (for "the ${need.model.name}'s ${models[0] ?? ''}", write a @policy)`,
      );
    }
  }
  return [...problems.sort(), ...[...wrongModel].sort()];
}

/**
 * Validation rules of this server's own, run with graphql-js's before anything executes.
 *
 * `onePerOperation`: a field marked `@onePerOperation` (login, password changes and resets, registration) runs at
 * most once per operation. GraphQL lets one request carry a thousand aliased logins, each its own password guess
 * and its own hash; counting attempts per request would be too late. Fields are counted by response key, through
 * fragments and inline fragments, as execution would collect them: `{ login(...) login(...) }` with the same
 * arguments is one execution, `{ a: login(...) b: login(...) }` two.
 */
import {
  GraphQLError,
  Kind,
  type ASTVisitor,
  type FieldNode,
  type GraphQLField,
  type SelectionSetNode,
  type ValidationContext,
} from 'graphql';

function isLimited(field: GraphQLField<unknown, unknown>): boolean {
  return field.astNode?.directives?.some((directive) => directive.name.value === 'onePerOperation') ?? false;
}

export function onePerOperation(context: ValidationContext): ASTVisitor {
  const schema = context.getSchema();
  return {
    OperationDefinition(operation) {
      const root = schema.getRootType(operation.operation);
      if (!root) return;
      const limited = new Set(
        Object.values(root.getFields())
          .filter(isLimited)
          .map((field) => field.name),
      );
      if (limited.size === 0) return;
      const found = new Map<string, FieldNode>();
      const visited = new Set<string>();
      const collect = (selectionSet: SelectionSetNode): void => {
        for (const selection of selectionSet.selections) {
          if (selection.kind === Kind.FIELD) {
            if (limited.has(selection.name.value)) found.set(selection.alias?.value ?? selection.name.value, selection);
          } else if (selection.kind === Kind.INLINE_FRAGMENT) {
            collect(selection.selectionSet);
          } else if (!visited.has(selection.name.value)) {
            // Each fragment once: a spread twice is collected once, and a cycle (refused by another rule) ends here.
            visited.add(selection.name.value);
            const fragment = context.getFragment(selection.name.value);
            if (fragment) collect(fragment.selectionSet);
          }
        }
      };
      collect(operation.selectionSet);
      if (found.size <= 1) return;
      context.reportError(
        new GraphQLError(
          `An operation may run only one of ${[...limited].sort().join(', ')}; it has ${found.size}. Send them as separate requests.`,
          { nodes: [...found.values()] },
        ),
      );
    },
  };
}

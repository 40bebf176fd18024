/**
 * The alias and directive limits of an operation (GRAPHQL_MAX_ALIASES, GRAPHQL_MAX_DIRECTIVES), in place of
 * graphql-armor's, which leave some out: its alias count skips `__typename` (so 330 aliases of it passed a limit of
 * 15), and its directive count skips the directives of variable definitions, and those of a fragment's spreads after
 * the first. Here every one counts:
 *
 * - every alias, of any field (`__typename` and introspection fields too), in inline fragments and fragments;
 * - every directive where a document can hold one (the operation, its variable definitions, fields, inline
 *   fragments, fragment spreads and fragment definitions), each occurrence, repeated or unknown;
 * - a fragment's aliases and directives once per spread (a fragment of 2 aliases spread 10 times counts 20, though
 *   execution would merge them): what the server validates grows with every spread.
 *
 * An operation past either limit is refused at validation (400 GRAPHQL_VALIDATION_FAILED) with LIMIT_MESSAGE, the
 * message of every limit: the limits are not told.
 */
import {
  GraphQLError,
  Kind,
  type ASTVisitor,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';
import { LIMIT_MESSAGE } from './errors.js';

export interface OperationLimits {
  /** Most aliases in an operation. */
  readonly aliases: number;
  /** Most directives in an operation. */
  readonly directives: number;
}

interface Counts {
  aliases: number;
  directives: number;
}

const NONE: Readonly<Counts> = { aliases: 0, directives: 0 };

export function aliasAndDirectiveLimits(limits: OperationLimits): ValidationRule {
  return (context: ValidationContext): ASTVisitor => {
    // Each fragment's counts, everything it spreads included, walked once per document: counting a chain of
    // fragments that each spread the next twice spread by spread would take 2^n steps (a denial of service).
    const fragments = new Map<string, Readonly<Counts>>();
    // The fragments being counted: a cycle (refused by graphql-js's NoFragmentCyclesRule, which this rule may run
    // before) ends here instead of looping forever; what it leaves out does not matter, the document is refused.
    const counting = new Set<string>();

    const countFragment = (name: string): Readonly<Counts> => {
      const known = fragments.get(name);
      if (known) return known;
      const definition = context.getFragment(name);
      // An unknown fragment is refused by KnownFragmentNamesRule.
      if (!definition || counting.has(name)) return NONE;
      counting.add(name);
      const counts = countSelections(definition.selectionSet);
      counts.directives += definition.directives?.length ?? 0;
      counting.delete(name);
      fragments.set(name, counts);
      return counts;
    };

    const countSelections = (selectionSet: SelectionSetNode): Counts => {
      const counts = { aliases: 0, directives: 0 };
      const add = (inner: Readonly<Counts>) => {
        counts.aliases += inner.aliases;
        counts.directives += inner.directives;
      };
      for (const selection of selectionSet.selections) {
        // Every occurrence, repeated or unknown: each is work for validation, and an error of its own if invalid.
        counts.directives += selection.directives?.length ?? 0;
        if (selection.kind === Kind.FIELD) {
          // Every alias, `a: __typename` too: each is one more response key to validate, merge and answer.
          if (selection.alias) counts.aliases += 1;
          if (selection.selectionSet) add(countSelections(selection.selectionSet));
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          add(countSelections(selection.selectionSet));
        } else {
          // Once per spread, not once per fragment: spreading one fragment many times must not multiply for free.
          add(countFragment(selection.name.value));
        }
      }
      return counts;
    };

    return {
      OperationDefinition(operation) {
        const counts = countSelections(operation.selectionSet);
        counts.directives += operation.directives?.length ?? 0;
        for (const variable of operation.variableDefinitions ?? []) {
          counts.directives += variable.directives?.length ?? 0;
        }
        if (counts.aliases > limits.aliases || counts.directives > limits.directives) {
          // One generic message for every limit: the limits and the counts are not told (exposeLimits off).
          context.reportError(new GraphQLError(LIMIT_MESSAGE));
        }
      },
    };
  };
}

/**
 * Input text, checked in one place before anything runs. Every string an operation hands a field (String, ID, and
 * the custom scalars whose values are strings, such as EmailAddress), from the document's literals and from
 * variables alike, through input objects and lists, must be
 *  - text PostgreSQL can store: no NUL character (no text or jsonb value takes it) and no unpaired UTF-16
 *    surrogate (no UTF-8 encodes it);
 *  - at most as long as where it lands, in code points (as varchar counts them): the `@maxLength(n)` of the
 *    argument or input field (schema/limits.graphql), which the schema puts on everything stored in a bounded
 *    column, with that column's length; DEFAULT_MAX_LENGTH for everything else.
 * Let through, such text reached a query and failed it (08P01 for a NUL, 22001 for text longer than its column): a
 * 500 for the client's mistake. Refused, the answer is BAD_USER_INPUT with status 400, one issue per bad value,
 * naming its path from the argument (`question`, `input.email`, `choices[1]`) as the resolvers' own checks name
 * fields, and the field it was given to (`Mutation.updateUser`) in the message.
 *
 * The bound sits at the column's length exactly, and where a resolver's own rule already refused the same text with
 * a code of its own (username_too_long, email_too_long, invalid_id), the @maxLength repeats that code: a client reads
 * one code for one rule, whichever check answers. (A bound one above the column, to let the resolver answer first,
 * would answer differently for one character more or two.) The resolvers keep their rules for what no bound on the
 * given text can see: text that normalizing lengthens, and callers other than GraphQL.
 *
 * Where: one Apollo hook, once the operation is known (didResolveOperation), taking each field's arguments as
 * execution will see them (graphql-js's getArgumentValues: literals and variables merged, defaults applied) and
 * walking them along their declared types. A validation rule sees only the literals, and a walk of the variables
 * alone would not know which argument, and so which bound, each one lands in. Literals and variables therefore get
 * the same answer. Variables no field uses reach nothing and are not looked at.
 */
import type { ApolloServerPlugin } from '@apollo/server';
import {
  GraphQLBoolean,
  GraphQLError,
  GraphQLFloat,
  GraphQLInt,
  Kind,
  getArgumentValues,
  getDirectiveValues,
  getNamedType,
  getVariableValues,
  isCompositeType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLArgument,
  type GraphQLCompositeType,
  type GraphQLInputField,
  type GraphQLInputType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import type { ValidationIssue } from '../auth/errors.js';
import { codePoints } from '../auth/text.js';
import { isStorableText } from '../db/sql.js';
import { badUserInput } from './errors.js';

/**
 * The bound of text no @maxLength bounds: passwords, tokens, searches, cursors, ids. None of it is stored as given
 * (a column's text carries its column's bound), but every string costs work in proportion to its length: a password
 * is hashed, a search matched against four columns. Generous, so that the resolvers' own length checks answer
 * first with their own codes (MAX_PASSWORD_LENGTH is 4,096: password_too_long), and a reset token thousands of
 * characters long is INVALID_TOKEN like any wrong one; at most 32 KiB of UTF-8.
 */
export const DEFAULT_MAX_LENGTH = 8192;

/** The issue code of text PostgreSQL cannot store. */
const UNSTORABLE_TEXT = 'unstorable_text';

/**
 * At most this many issues in one answer: a list of ten thousand bad strings is refused in as few bytes as one.
 * The first ones are enough to fix, and the operation is refused whole either way.
 */
const MAX_ISSUES = 20;

/** How long a text argument may be, and the issue code of a longer one. */
export interface TextBound {
  readonly n: number;
  readonly code: string;
}

/** Without `code`: Django's code for a CharField's max_length, the one the resolvers give for names and texts. */
const DEFAULT_BOUND: TextBound = { n: DEFAULT_MAX_LENGTH, code: 'max_length' };

const bounds = new WeakMap<GraphQLArgument | GraphQLInputField, TextBound>();

/** The bound of an argument or input field: its @maxLength, or the default. */
export function textBoundOf(schema: GraphQLSchema, definition: GraphQLArgument | GraphQLInputField): TextBound {
  let bound = bounds.get(definition);
  if (!bound) {
    const directive = schema.getDirective('maxLength');
    const values = directive && definition.astNode ? getDirectiveValues(directive, definition.astNode) : undefined;
    bound = values ? { n: values.n as number, code: values.code as string } : DEFAULT_BOUND;
    bounds.set(definition, bound);
  }
  return bound;
}

/** Every argument of every field, and every input field, of the schema, with its coordinate. */
function textDefinitions(schema: GraphQLSchema): [string, GraphQLArgument | GraphQLInputField][] {
  const found: [string, GraphQLArgument | GraphQLInputField][] = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (isObjectType(type) || isInterfaceType(type)) {
      for (const field of Object.values(type.getFields())) {
        for (const argument of field.args) found.push([`${type.name}.${field.name}(${argument.name}:)`, argument]);
      }
    } else if (isInputObjectType(type)) {
      for (const field of Object.values(type.getFields())) found.push([`${type.name}.${field.name}`, field]);
    }
  }
  return found;
}

/**
 * What is wrong with the schema's @maxLength: one line for each bound below 1, and each on something that is not
 * text (a number, a boolean, an enum or an input object has no length). Empty when all is well.
 */
export function textBoundProblems(schema: GraphQLSchema): string[] {
  const numeric = new Set([GraphQLInt.name, GraphQLFloat.name, GraphQLBoolean.name]);
  const problems: string[] = [];
  for (const [coordinate, definition] of textDefinitions(schema)) {
    if (!definition.astNode?.directives?.some((directive) => directive.name.value === 'maxLength')) continue;
    const named = getNamedType(definition.type);
    if (!isScalarType(named) || numeric.has(named.name))
      problems.push(`@maxLength on ${coordinate}: ${named.name} is not text`);
    else if (textBoundOf(schema, definition).n < 1) problems.push(`@maxLength on ${coordinate}: n must be 1 or more`);
  }
  return problems;
}

/** What is wrong with one string, if anything. */
function textIssue(text: string, bound: TextBound, field: string, coordinate: string): ValidationIssue | undefined {
  // A NUL fails the query it reaches (08P01), an unpaired surrogate cannot be encoded: refused, never a 500.
  if (!isStorableText(text)) {
    return {
      code: UNSTORABLE_TEXT,
      message: `${field} of ${coordinate} may not contain the NUL character or unpaired surrogates.`,
      field,
    };
  }
  // Longer than its column, it would fail the INSERT or UPDATE (22001). UTF-16 length is never less than the length
  // in code points: most text needs no count.
  if (text.length > bound.n && codePoints(text) > bound.n)
    return { code: bound.code, message: `${field} of ${coordinate} has more than ${bound.n} characters.`, field };
  return undefined;
}

interface Walk {
  readonly schema: GraphQLSchema;
  readonly coordinate: string;
  readonly issues: ValidationIssue[];
}

/** Checks every string of a coerced argument value, along its type; `field` is its path from the argument. */
function checkValue(walk: Walk, value: unknown, type: GraphQLInputType, bound: TextBound, field: string): void {
  if (walk.issues.length >= MAX_ISSUES || value === null || value === undefined) return;
  if (isNonNullType(type)) {
    checkValue(walk, value, type.ofType, bound, field);
  } else if (isListType(type)) {
    // Coerced, a list is an array (a single value given for a list arrives wrapped in one). The bound is each item's.
    if (Array.isArray(value)) {
      for (const [index, item] of value.entries()) checkValue(walk, item, type.ofType, bound, `${field}[${index}]`);
    }
  } else if (isInputObjectType(type)) {
    const fields = type.getFields();
    for (const [name, inner] of Object.entries(value as Record<string, unknown>)) {
      const definition = fields[name];
      if (definition)
        checkValue(walk, inner, definition.type, textBoundOf(walk.schema, definition), `${field}.${name}`);
    }
  } else if (typeof value === 'string' && !isEnumType(type)) {
    // String, ID, and any custom scalar whose value is a string (EmailAddress): all of them may land in a column.
    const issue = textIssue(value, bound, field, walk.coordinate);
    if (issue) walk.issues.push(issue);
  }
}

/** Every issue with the text the operation hands its fields (fragments included), at most MAX_ISSUES. */
export function inputTextIssues(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  rawVariables: Record<string, unknown>,
): readonly ValidationIssue[] {
  // Without variables the answer depends on the document alone, whose parsed form Apollo keeps and hands every request
  // of the same text: walked once (`{ me { ... } }`, on every request of a session, walks nothing after its first).
  if (!operation.variableDefinitions?.length) {
    let bySchema = issuesWithoutVariables.get(schema);
    if (!bySchema) issuesWithoutVariables.set(schema, (bySchema = new WeakMap()));
    let issues = bySchema.get(operation);
    if (!issues) bySchema.set(operation, (issues = walkedIssues(schema, document, operation, {})));
    return issues;
  }
  return walkedIssues(schema, document, operation, rawVariables);
}

/** The issues of operations that declare no variables, by schema and operation (the node Apollo's store keeps). */
const issuesWithoutVariables = new WeakMap<
  GraphQLSchema,
  WeakMap<OperationDefinitionNode, readonly ValidationIssue[]>
>();

function walkedIssues(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  rawVariables: Record<string, unknown>,
): ValidationIssue[] {
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], rawVariables);
  // Variables that do not fit their types: execution refuses the operation itself (BAD_USER_INPUT), before any
  // resolver runs.
  if (coerced.errors) return [];
  const variables = coerced.coerced;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions)
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  const visited = new Set<string>();
  const issues: ValidationIssue[] = [];

  const walkSelections = (selectionSet: SelectionSetNode, parent: GraphQLCompositeType): void => {
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        // Introspection's fields (__type(name:)) read the schema, never the database; a union has no fields but those.
        if (selection.name.value.startsWith('__') || !(isObjectType(parent) || isInterfaceType(parent))) continue;
        const field = parent.getFields()[selection.name.value];
        if (!field) continue;
        let values: Record<string, unknown>;
        try {
          values = getArgumentValues(field, selection, variables);
        } catch (error) {
          // An argument execution will refuse anyway (null given for a non-null argument through a variable with a
          // default): its own answer, before the field runs.
          if (error instanceof GraphQLError) continue;
          throw error;
        }
        const walk = { schema, coordinate: `${parent.name}.${field.name}`, issues };
        for (const argument of field.args)
          checkValue(walk, values[argument.name], argument.type, textBoundOf(schema, argument), argument.name);
        const type = getNamedType(field.type);
        if (selection.selectionSet && isCompositeType(type)) walkSelections(selection.selectionSet, type);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = selection.typeCondition ? schema.getType(selection.typeCondition.name.value) : parent;
        if (isCompositeType(type)) walkSelections(selection.selectionSet, type);
      } else if (!visited.has(selection.name.value)) {
        // Each fragment once: its arguments are the same wherever it is spread (the variables are the operation's).
        visited.add(selection.name.value);
        const fragment = fragments.get(selection.name.value);
        const type = fragment && schema.getType(fragment.typeCondition.name.value);
        if (fragment && isCompositeType(type)) walkSelections(fragment.selectionSet, type);
      }
    }
  };
  const root = schema.getRootType(operation.operation);
  if (root) walkSelections(operation.selectionSet, root);
  return issues.slice(0, MAX_ISSUES);
}

/** The plugin: refuses the operation, status 400, when its text has any issue. */
export function inputTextPlugin<TContext extends object>(): ApolloServerPlugin<TContext> {
  return {
    requestDidStart() {
      return Promise.resolve({
        didResolveOperation({ schema, document, operation, request }) {
          if (!operation) return Promise.resolve();
          const issues = inputTextIssues(schema, document, operation, request.variables ?? {});
          if (issues.length > 0) throw badUserInput(issues, { status: 400 });
          return Promise.resolve();
        },
      });
    },
  };
}

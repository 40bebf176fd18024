/**
 * The permissions the directives name, against the database's catalogue: unknown ones, ones asked about another
 * model's objects, and codenames an id argument cannot resolve to one model.
 */
import { describe, expect, it } from '@jest/globals';
import { guardedSchema } from '../../../test/support/fake-authorization.js';
import { permissionProblems, requirementsOf, type CatalogueEntry } from './index.js';

const CATALOGUE: CatalogueEntry[] = [
  { perm: 'polls.view_poll', model: 'polls.poll' },
  { perm: 'polls.view_choice', model: 'polls.choice' },
  // Django allows one codename on two models of an app.
  { perm: 'polls.close', model: 'polls.poll' },
  { perm: 'polls.close', model: 'polls.choice' },
];

function problemsOf(sdl: string): string[] {
  const requirements = requirementsOf(guardedSchema(sdl));
  if (!requirements) throw new Error('not guarded');
  return permissionProblems(requirements, CATALOGUE);
}

describe('permissionProblems', () => {
  it('accepts permissions that exist, asked about their own model', () => {
    expect(
      problemsOf(`
        type Poll @model(name: "polls.poll") @hasPerm(perm: "polls.view_poll", object: PARENT) { id: ID! }
        type Query { poll(id: ID!): Poll @hasPerm(perm: "polls.view_poll", objectArg: "id") }
      `),
    ).toEqual([]);
  });

  it('lists unknown permissions with every field naming them, a type guard once, and ambiguous id arguments', () => {
    expect(
      problemsOf(`
        type Choice @model(name: "polls.choice") @hasPerm(perm: "polls.view_poll", object: PARENT) { id: ID!, text: String }
        type Query {
          a: String @hasPerm(perm: "polls.view_pol")
          b: Choice @hasPerm(anyOf: ["polls.view_pol", "polls.view_choice"])
          close(id: ID!): Boolean @hasPerm(perm: "polls.close", objectArg: "id")
        }
      `),
    ).toEqual([
      '"polls.view_pol" (Query.a, Query.b) is not a known permission',
      'Choice: "polls.view_poll" is a permission of polls.poll, asked about a polls.choice: a grant on one never opens the other (for "the polls.choice\'s polls.poll", write a @policy)',
      'Query.close: "polls.close" is a permission of several models (polls.choice, polls.poll): objectArg cannot tell which one its id is of',
    ]);
  });
});

/**
 * Denials that stay small: one error per field coordinate and code, however many items of a list it was denied in.
 */
import { describe, expect, it } from '@jest/globals';
import { GraphQLError } from 'graphql';
import { ALICE, guardedSchema, runGuarded } from '../../../test/support/fake-authorization.js';
import { collapseDenials } from './index.js';

describe('collapseDenials', () => {
  const schema = guardedSchema(
    `type Item @auth { n: Int!, secret: Int @hasPerm(perm: "app.view_secret"), other: Int @hasPerm(perm: "app.view_other") }
     type Query { items(count: Int!): [Item!]! @auth, broken: Int @auth }`,
    {
      Query: {
        items: (_source: unknown, { count }: { count: number }) =>
          Array.from({ length: count }, (_item, n) => ({ n, secret: n, other: n })),
        broken: () => {
          throw new GraphQLError('not a denial', { extensions: { code: 'SOMETHING_ELSE' } });
        },
      },
    },
  );

  it('makes the denials of 1,000 items one error per coordinate, with how many paths each stands for', async () => {
    const result = await runGuarded({
      schema,
      query: '{ items(count: 1000) { n secret other } b1: broken b2: broken }',
      as: { user: ALICE },
    });
    const originals = result.errors ?? [];
    expect(originals).toHaveLength(2002);
    const collapsed = collapseDenials(
      originals,
      originals.map((error) => error.toJSON()),
    );
    expect(collapsed.map(({ path, extensions }) => [path?.join('.'), extensions])).toEqual([
      // Errors that are not denials are kept as they are, each one.
      ['b1', { code: 'SOMETHING_ELSE' }],
      ['b2', { code: 'SOMETHING_ELSE' }],
      ['items.0.secret', { code: 'FORBIDDEN', pathCount: 1000 }],
      ['items.0.other', { code: 'FORBIDDEN', pathCount: 1000 }],
    ]);
    // The data still holds a null at every denied path.
    const items = (result.data as { items: { secret: number | null }[] }).items;
    expect(items.filter((item) => item.secret === null)).toHaveLength(1000);
  });

  it('keeps UNAUTHENTICATED and FORBIDDEN of one coordinate apart, and a lone denial unchanged', async () => {
    const result = await runGuarded({ schema, query: '{ items(count: 1) { secret } }', as: { user: ALICE } });
    const originals = result.errors ?? [];
    expect(
      collapseDenials(
        originals,
        originals.map((error) => error.toJSON()),
      ),
    ).toEqual([
      {
        message: 'You do not have permission to do this.',
        locations: [{ line: 1, column: 21 }],
        path: ['items', 0, 'secret'],
        extensions: { code: 'FORBIDDEN' },
      },
    ]);
  });
});

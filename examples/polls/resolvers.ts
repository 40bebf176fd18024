/**
 * The polls app's resolvers (schema.graphql). Who may do what is in the SDL's directives (and the policy below); the
 * work is the use-cases' (polls.ts). Here ids and cursors are read.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import DataLoader from 'dataloader';
import { cursorOf, idOf, idOfCursor, pageSizeOf, type GraphQLContext, type Policies } from 'graphql-auth-server';
import type { Resolvers } from './generated/resolvers.ts';
import type { Choice, Poll } from './models.ts';
import { POLL, Polls, VIEW_POLL } from './polls.ts';

export const pollsPolicies: Policies<GraphQLContext> = {
  pollViewer: {
    // A choice belongs to a poll: polls.view_poll asked about the choice itself would be asked of the wrong model.
    description: "may view the choice's poll (polls.view_poll on the model, or on that poll)",
    check: async ({ parent, authorization }) => {
      const pollId = (parent as Choice).poll.id;
      return (await authorization.permittedKeys(VIEW_POLL, POLL, [pollId])).has(String(pollId));
    },
  },
};

function polls({ em, objectPermissions, authorization }: GraphQLContext): Polls {
  return new Polls({ em, objectPermissions, viewer: authorization });
}

/**
 * Per request (per EntityManager): the polls whose choices are asked for in one tick, populated with one query.
 * (MikroORM's own collection dataloader does the same, but imports its module again for every request: 0.8 ms.)
 */
const choiceLoaders = new WeakMap<EntityManager, DataLoader<Poll, Choice[]>>();

function choicesLoader(em: EntityManager): DataLoader<Poll, Choice[]> {
  let loader = choiceLoaders.get(em);
  if (!loader) {
    loader = new DataLoader<Poll, Choice[]>(
      async (polls) => {
        await em.populate([...polls], ['choices']);
        return polls.map((poll) => poll.choices.getItems());
      },
      { cache: false },
    );
    choiceLoaders.set(em, loader);
  }
  return loader;
}

export const pollsResolvers: Resolvers = {
  Query: {
    async polls(_parent, { first, after }, context) {
      const size = pageSizeOf(first, 200);
      const page = await polls(context).list(size, after ? idOfCursor(after, 'after') : undefined);
      const edges = page.items.map((node) => ({ node, cursor: cursorOf(node.id) }));
      return {
        totalCount: page.totalCount,
        edges,
        pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null },
      };
    },
    poll: (_parent, { id }, context) => polls(context).get(idOf(id, 'id')),
  },
  Mutation: {
    createPoll: (_parent, { question, choices }, context) => polls(context).create(question, choices ?? []),
    updatePoll: (_parent, { id, question }, context) => polls(context).update(idOf(id, 'id'), question),
    deletePoll: (_parent, { id }, context) => polls(context).delete(idOf(id, 'id')),
    addChoice: (_parent, { pollId, text }, context) => polls(context).addChoice(idOf(pollId, 'pollId'), text),
    vote: (_parent, { choiceId }, context) => polls(context).vote(idOf(choiceId, 'choiceId')),
  },
  Poll: {
    id: (poll) => String(poll.id),
    // The choices of every poll on a page, in one query.
    choices: (poll, _args, { em }) => choicesLoader(em).load(poll),
  },
  Choice: {
    id: (choice) => String(choice.id),
  },
};

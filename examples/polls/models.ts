/**
 * The polls app's models (Django's tutorial app, column for column on polls_poll and polls_choice): the MikroORM
 * entities, the models whose permissions `migrate` creates, and the GraphQL types each entity stands for (the
 * resolvers receive and return entities for those types: see codegen.yml, `defaultMapper`).
 *
 * A new protected type is one entry in each of the three lists below, plus its SDL and its resolvers.
 */
import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import type { ModelDefinition } from 'graphql-auth-server';

export const Poll = defineEntity({
  name: 'Poll',
  tableName: 'polls_poll',
  properties: {
    id: p.integer().primary().autoincrement(),
    question: p.string().length(200),
    pubDate: p.datetime().fieldName('pub_date'),
    choices: () => p.oneToMany(Choice).mappedBy('poll').orderBy({ id: 'asc' }),
  },
});
export type Poll = InferEntity<typeof Poll>;

export const Choice = defineEntity({
  name: 'Choice',
  tableName: 'polls_choice',
  properties: {
    id: p.integer().primary().autoincrement(),
    text: p.string().length(200).fieldName('choice_text'),
    votes: p.integer(),
    poll: () => p.manyToOne(Poll).fieldName('poll_id').deleteRule('cascade'),
  },
});
export type Choice = InferEntity<typeof Choice>;

/** The entities, for MikroORM. */
export const entities = [Poll, Choice];

/** The models, whose permissions are `polls.add_poll`, `polls.view_choice`, ... and `polls.close_poll`. */
export const models: readonly ModelDefinition[] = [
  { appLabel: 'polls', model: 'poll', verboseName: 'poll', permissions: [['close_poll', 'Can close a poll']] },
  { appLabel: 'polls', model: 'choice', verboseName: 'choice' },
];

/** The GraphQL type each entity stands for, by type name (read by the generated resolver types). */
export interface GraphQLModels {
  Poll: Poll;
  Choice: Choice;
}

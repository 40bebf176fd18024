/**
 * The polls example (Django's tutorial app): polls_poll and polls_choice, column for column.
 */
import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

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

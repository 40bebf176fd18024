/**
 * The polls example (schema/polls.graphql). Who may do what is in the SDL's directives (and the policy below); these
 * resolvers only do it. Each mutation is one transaction.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import DataLoader from 'dataloader';
import { codePoints } from '../../auth/text.js';
import { run, selectOne } from '../../db/sql.js';
import { Choice, Poll } from '../../entities/poll.js';
import type { GraphQLContext } from '../context.js';
import type { Policies } from '../directives/index.js';
import { badUserInput, notFound } from '../errors.js';
import { cursorOf, idOf, idOfCursor, pageSizeOf } from '../ids.js';
import type { Resolvers } from '../generated/resolvers.js';

const VIEW_POLL = 'polls.view_poll';
const POLL = 'polls.poll';

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

/** Django's `CharField(max_length=200)` on question and choice_text. */
const MAX_TEXT = 200;

/** Non-blank text of at most 200 characters, trimmed; BAD_USER_INPUT naming the field otherwise. */
function textOf(value: string, field: string): string {
  const text = value.trim();
  if (text.length === 0) throw badUserInput([{ code: 'required', message: `${field} is empty.`, field }]);
  if (codePoints(text) > MAX_TEXT) {
    throw badUserInput([{ code: 'max_length', message: `${field} has more than ${MAX_TEXT} characters.`, field }]);
  }
  return text;
}

function loadPoll(em: EntityManager, id: number): Promise<Poll | null> {
  return em.findOne(Poll, id, { populate: ['choices'] });
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
    // Filtered in SQL (guardian's get_objects_for_user): one statement for the page and its count.
    async polls(_parent, { first, after }, { objectPermissions, authorization }) {
      const size = pageSizeOf(first, 200);
      const afterId = after ? idOfCursor(after, 'after') : undefined;
      const user = await authorization.user();
      const page = await objectPermissions.permittedPage(Poll, user, VIEW_POLL, POLL, { first: size, after: afterId });
      const edges = page.items.map((node) => ({ node, cursor: cursorOf(node.id) }));
      return {
        totalCount: page.totalCount,
        edges,
        pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null },
      };
    },
    poll: (_parent, { id }, { em }) => loadPoll(em, idOf(id, 'id')),
  },
  Mutation: {
    async createPoll(_parent, { question, choices }, { em }) {
      const texts = (choices ?? []).map((text, index) => textOf(text, `choices[${index}]`));
      const poll = em.create(Poll, { question: textOf(question, 'question'), pubDate: new Date() });
      for (const text of texts) em.create(Choice, { poll, text, votes: 0 });
      await em.flush();
      return poll;
    },
    async updatePoll(_parent, { id, question }, { em }) {
      const poll = await loadPoll(em, idOf(id, 'id'));
      if (!poll) throw notFound('poll');
      poll.question = textOf(question, 'question');
      await em.flush();
      return poll;
    },
    async deletePoll(_parent, { id }, { em }) {
      const pollId = idOf(id, 'id');
      return em.transactional(async (tx) => {
        // Django deletes the choices itself (on_delete=CASCADE is done by the ORM, not by the foreign key).
        await run(tx, 'DELETE FROM polls_choice WHERE poll_id = ?', [pollId]);
        // Grants on a deleted object would otherwise apply to a future poll that reuses its id.
        for (const table of ['guardian_userobjectpermission', 'guardian_groupobjectpermission']) {
          await run(
            tx,
            `DELETE FROM ${table} WHERE object_pk = ? AND content_type_id =
               (SELECT id FROM django_content_type WHERE app_label = 'polls' AND model = 'poll')`,
            [String(pollId)],
          );
        }
        if ((await run(tx, 'DELETE FROM polls_poll WHERE id = ?', [pollId])) === 0) throw notFound('poll');
        return true;
      });
    },
    async addChoice(_parent, { pollId, text }, { em, authorization }) {
      const id = idOf(pollId, 'pollId');
      // A choice goes in a poll one may see: otherwise the same answer as for no such poll (ids are sequential, and
      // a different answer would tell which exist).
      const visible = await authorization.permittedKeys(VIEW_POLL, POLL, [id]);
      const poll = visible.has(String(id)) ? await em.findOne(Poll, id) : null;
      if (!poll) throw notFound('poll');
      const choice = em.create(Choice, { poll, text: textOf(text, 'text'), votes: 0 });
      await em.flush();
      return choice;
    },
    async vote(_parent, { choiceId }, { em, authorization }) {
      const id = idOf(choiceId, 'choiceId');
      const choice = await selectOne<{ poll_id: number }>(em, 'SELECT poll_id FROM polls_choice WHERE id = ?', [id]);
      // One may vote in a poll one may see. Otherwise the answer is the same as for no such choice: choice ids are
      // sequential, and "forbidden" would tell which exist.
      const visible = choice && (await authorization.permittedKeys(VIEW_POLL, POLL, [choice.poll_id]));
      if (!choice || !visible?.has(String(choice.poll_id))) throw notFound('choice');
      // One statement: concurrent votes are all counted (no read-modify-write).
      await run(em, 'UPDATE polls_choice SET votes = votes + 1 WHERE id = ?', [id]);
      return em.findOneOrFail(Choice, id, { refresh: true });
    },
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

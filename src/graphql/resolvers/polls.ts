/**
 * The polls example (schema/polls.graphql). Who may do what is in the SDL's directives; these resolvers only do it.
 * Each mutation is one transaction.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { codePoints } from '../../auth/text.js';
import { run, selectOne } from '../../db/sql.js';
import { Choice, Poll } from '../../entities/poll.js';
import { badUserInput, notFound } from '../errors.js';
import { idOf } from '../ids.js';
import type { Resolvers } from '../generated/resolvers.js';

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

export const pollsResolvers: Resolvers = {
  Query: {
    // Choices come with the polls (two queries in all), and the directive filters the list with one more.
    polls: (_parent, _args, { em }) => em.find(Poll, {}, { populate: ['choices'], orderBy: { id: 'asc' } }),
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
    async addChoice(_parent, { pollId, text }, { em }) {
      const poll = await em.findOne(Poll, idOf(pollId, 'pollId'));
      if (!poll) throw notFound('poll');
      const choice = em.create(Choice, { poll, text: textOf(text, 'text'), votes: 0 });
      await em.flush();
      return choice;
    },
    async vote(_parent, { choiceId }, { em, auth, objectPermissions }) {
      const id = idOf(choiceId, 'choiceId');
      const choice = await selectOne<{ poll_id: number }>(em, 'SELECT poll_id FROM polls_choice WHERE id = ?', [id]);
      // One may vote in a poll one may see. Otherwise the answer is the same as for no such choice: choice ids are
      // sequential, and "forbidden" would tell which exist.
      if (!choice || !(await objectPermissions.hasPerm(await auth.requestUser(), 'polls.view_poll', choice.poll_id))) {
        throw notFound('choice');
      }
      // One statement: concurrent votes are all counted (no read-modify-write).
      await run(em, 'UPDATE polls_choice SET votes = votes + 1 WHERE id = ?', [id]);
      return em.findOneOrFail(Choice, id, { refresh: true });
    },
  },
  Poll: {
    id: (poll) => String(poll.id),
    choices: async (poll, _args, { em }) => {
      if (!poll.choices.isInitialized()) await em.populate(poll, ['choices']);
      return poll.choices.getItems();
    },
  },
  Choice: {
    id: (choice) => String(choice.id),
  },
};

/**
 * The polls example's use-cases (schema/polls.graphql). Who may do what is in the SDL's directives and policies;
 * these only do it, and refuse what the caller may not see with the same answer as what does not exist. Each
 * mutation is one transaction.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { ValidationError, type RequestUser } from '../auth/index.js';
import type { ObjectPermissionChecker } from '../auth/object-permissions.js';
import { codePoints } from '../auth/text.js';
import type { KeysetPage } from '../db/keyset-page.js';
import { run, selectOne } from '../db/sql.js';
import { Choice, Poll } from '../entities/poll.js';
import { NotFound } from './errors.js';

export const VIEW_POLL = 'polls.view_poll';
export const POLL = 'polls.poll';

/** Django's `CharField(max_length=200)` on question and choice_text. */
const MAX_TEXT = 200;

export interface PollsDeps {
  readonly em: EntityManager;
  readonly objectPermissions: ObjectPermissionChecker;
  /** What the directives ask: the request's user (active, or null) and the objects it holds a permission on. */
  readonly viewer: {
    user(): Promise<RequestUser | null>;
    permittedKeys(perm: string, model: string, keys: readonly number[]): Promise<Set<string>>;
  };
}

/** Non-blank text of at most 200 characters, trimmed; a ValidationError naming the field otherwise. */
function textOf(value: string, field: string): string {
  const text = value.trim();
  if (text.length === 0) throw new ValidationError([{ code: 'required', message: `${field} is empty.`, field }]);
  if (codePoints(text) > MAX_TEXT) {
    throw new ValidationError([
      { code: 'max_length', message: `${field} has more than ${MAX_TEXT} characters.`, field },
    ]);
  }
  return text;
}

/** The polls use-cases of one request. */
export class Polls {
  constructor(private readonly deps: PollsDeps) {}

  /** The polls the user may view, filtered in SQL (guardian's get_objects_for_user): one statement. */
  async list(first: number, after: number | undefined): Promise<KeysetPage<Poll>> {
    const { objectPermissions } = this.deps;
    const user = await this.deps.viewer.user();
    return objectPermissions.permittedPage(Poll, user, VIEW_POLL, POLL, {
      first,
      ...(after === undefined ? {} : { after }),
    });
  }

  get(id: number): Promise<Poll | null> {
    return this.deps.em.findOne(Poll, id, { populate: ['choices'] });
  }

  async create(question: string, choices: readonly string[]): Promise<Poll> {
    const { em } = this.deps;
    const texts = choices.map((text, index) => textOf(text, `choices[${index}]`));
    const poll = em.create(Poll, { question: textOf(question, 'question'), pubDate: new Date() });
    for (const text of texts) em.create(Choice, { poll, text, votes: 0 });
    await em.flush();
    return poll;
  }

  async update(id: number, question: string): Promise<Poll> {
    const poll = await this.get(id);
    if (!poll) throw new NotFound('poll');
    poll.question = textOf(question, 'question');
    await this.deps.em.flush();
    return poll;
  }

  delete(pollId: number): Promise<boolean> {
    return this.deps.em.transactional(async (tx) => {
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
      if ((await run(tx, 'DELETE FROM polls_poll WHERE id = ?', [pollId])) === 0) throw new NotFound('poll');
      return true;
    });
  }

  async addChoice(pollId: number, text: string): Promise<Choice> {
    const { em } = this.deps;
    // A choice goes in a poll one may see: otherwise the same answer as for no such poll (ids are sequential, and
    // a different answer would tell which exist).
    const poll = (await this.mayView(pollId)) ? await em.findOne(Poll, pollId) : null;
    if (!poll) throw new NotFound('poll');
    const choice = em.create(Choice, { poll, text: textOf(text, 'text'), votes: 0 });
    await em.flush();
    return choice;
  }

  async vote(choiceId: number): Promise<Choice> {
    const { em } = this.deps;
    const choice = await selectOne<{ poll_id: number }>(em, 'SELECT poll_id FROM polls_choice WHERE id = ?', [
      choiceId,
    ]);
    // One may vote in a poll one may see. Otherwise the answer is the same as for no such choice: choice ids are
    // sequential, and "forbidden" would tell which exist.
    if (!choice || !(await this.mayView(choice.poll_id))) throw new NotFound('choice');
    // One statement: concurrent votes are all counted (no read-modify-write).
    await run(em, 'UPDATE polls_choice SET votes = votes + 1 WHERE id = ?', [choiceId]);
    return em.findOneOrFail(Choice, choiceId, { refresh: true });
  }

  /** polls.view_poll on the model, or on that poll. */
  private async mayView(pollId: number): Promise<boolean> {
    return (await this.deps.viewer.permittedKeys(VIEW_POLL, POLL, [pollId])).has(String(pollId));
  }
}

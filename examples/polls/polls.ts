/**
 * The polls app's use-cases (schema.graphql). Who may do what is in the SDL's directives and policies; these only do
 * it, and refuse what the caller may not see with the same answer as what does not exist. Each mutation is one
 * transaction.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import {
  deleteObjectPermissions,
  NotFound,
  ValidationError,
  type KeysetPage,
  type ObjectPermissionChecker,
  type RequestUser,
} from 'graphql-auth-server';
import { Choice, Poll } from './models.ts';

export const VIEW_POLL = 'polls.view_poll';
export const POLL = 'polls.poll';

/** Django's `CharField(max_length=200)` on question and choice_text, counted in characters (code points). */
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
  // Code points, as Django counts characters (a string's length counts UTF-16 units: an emoji is two).
  if (Array.from(text).length > MAX_TEXT) {
    throw new ValidationError([
      { code: 'max_length', message: `${field} has more than ${MAX_TEXT} characters.`, field },
    ]);
  }
  return text;
}

/** The polls use-cases of one request. */
export class Polls {
  private readonly deps: PollsDeps;

  constructor(deps: PollsDeps) {
    this.deps = deps;
  }

  /** The polls the user may view, filtered in SQL (guardian's get_objects_for_user): one statement. */
  async list(first: number, after: number | undefined): Promise<KeysetPage<Poll>> {
    const user = await this.deps.viewer.user();
    return this.deps.objectPermissions.permittedPage(Poll, user, VIEW_POLL, POLL, {
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
      await tx.nativeDelete(Choice, { poll: pollId });
      // Grants on a deleted poll would otherwise apply to a later poll that takes its id.
      await deleteObjectPermissions(tx, POLL, pollId);
      if ((await tx.nativeDelete(Poll, { id: pollId })) === 0) throw new NotFound('poll');
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
    const choice = await em.findOne(Choice, choiceId, { fields: ['poll'] });
    // One may vote in a poll one may see. Otherwise the answer is the same as for no such choice: choice ids are
    // sequential, and "forbidden" would tell which exist.
    if (!choice || !(await this.mayView(choice.poll.id))) throw new NotFound('choice');
    // One statement: concurrent votes are all counted (no read-modify-write).
    await em.getConnection().execute('UPDATE polls_choice SET votes = votes + 1 WHERE id = ?', [choiceId]);
    return em.findOneOrFail(Choice, choiceId, { refresh: true });
  }

  /** polls.view_poll on the model, or on that poll. */
  private async mayView(pollId: number): Promise<boolean> {
    return (await this.deps.viewer.permittedKeys(VIEW_POLL, POLL, [pollId])).has(String(pollId));
  }
}

/**
 * Creating users, as Django's UserManager: `createUser` and `createSuperuser`, with Django's username rules and
 * e-mail normalization. Password validators are not run here (nor in Django's create_user): forms and commands
 * run them before calling this.
 */
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { User } from '../entities/user.js';
import type { Clock } from './clock.js';
import type { AuthEventBus } from './events.js';
import { ValidationError, type ValidationIssue } from './errors.js';
import { MAX_PASSWORD_LENGTH } from './hashers/index.js';
import type { Passwords } from './passwords.js';
import { codePoints } from './text.js';

export const USERNAME_MAX_LENGTH = 150;
export const EMAIL_MAX_LENGTH = 254;
/**
 * Django's UnicodeUsernameValidator, `^[\w.@+-]+\Z`: Python's \w is letters, digits and numerals of any script and
 * the underscore (not combining marks: Django refuses "हिन्दी", and so do we, or Django's admin could not save it).
 */
const USERNAME_PATTERN = /^[\p{L}\p{N}_.@+-]+$/u;
/** Loose on purpose (the mail server is the judge): refuses what cannot be an address at all. */
const EMAIL_PATTERN = /^[^@\s]+@[^@\s]+$/;

export interface CreateUserInput {
  username: string;
  email?: string;
  /** Omitted or null: an unusable password (the user cannot log in with a password). */
  password?: string | null;
  firstName?: string;
  lastName?: string;
  isActive?: boolean;
  isStaff?: boolean;
  isSuperuser?: boolean;
}

/** Django's `normalize_username`: NFKC, so that look-alike Unicode forms name the same user. */
export function normalizeUsername(username: string): string {
  return username.normalize('NFKC');
}

/** Django's `normalize_email`: the domain part lower-cased, the local part left alone (it may be case-sensitive). */
export function normalizeEmail(email: string): string {
  const trimmed = email.trim();
  const at = trimmed.lastIndexOf('@');
  if (at < 0) return trimmed;
  return `${trimmed.slice(0, at)}@${trimmed.slice(at + 1).toLowerCase()}`;
}

export function validateUsername(username: string): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  if (username.length === 0)
    issues.push({ code: 'username_required', message: 'A username is required.', field: 'username' });
  if (codePoints(username) > USERNAME_MAX_LENGTH) {
    issues.push({
      code: 'username_too_long',
      message: `Usernames have at most ${USERNAME_MAX_LENGTH} characters.`,
      field: 'username',
    });
  }
  if (username.length > 0 && !USERNAME_PATTERN.test(username)) {
    issues.push({
      code: 'username_invalid',
      message: 'Enter a valid username: letters, numbers and @/./+/-/_ characters only.',
      field: 'username',
    });
  }
  return issues;
}

/**
 * A username's rules, and whether another user has it already (`exceptUserId`: the user being renamed). Free at
 * this moment only: createUser checks again as it inserts.
 */
export async function validateNewUsername(
  em: EntityManager,
  username: string,
  exceptUserId?: number,
): Promise<ValidationIssue[]> {
  const issues = validateUsername(username);
  if (issues.length > 0) return issues;
  const others = exceptUserId === undefined ? { username } : { username, id: { $ne: exceptUserId } };
  return (await em.count(User, others)) > 0 ? [usernameTaken()] : [];
}

/** Whether `email` (trimmed) could be an address at all; blank is not one. */
export function isEmailAddress(email: string): boolean {
  return EMAIL_PATTERN.test(email.trim());
}

/** Django's EmailValidator on an optional field: blank is allowed, anything else must look like an address. */
export function validateEmail(email: string | null | undefined): ValidationIssue[] {
  return email && !isEmailAddress(email)
    ? [{ code: 'invalid', message: 'Enter a valid email address.', field: 'email' }]
    : [];
}

/**
 * The length rule of a normalized e-mail address. Normalizing can lengthen it (the domain is lower-cased, and some
 * capitals lower-case to two code points: "İ" to "i̇"), so it is checked after, against the column it lands in.
 */
export function validateEmailLength(email: string): ValidationIssue[] {
  return codePoints(email) > EMAIL_MAX_LENGTH
    ? [
        {
          code: 'email_too_long',
          message: `E-mail addresses have at most ${EMAIL_MAX_LENGTH} characters.`,
          field: 'email',
        },
      ]
    : [];
}

export class UserManager {
  /** `events`: where `userCreated` goes (none for a manager that only reads). */
  constructor(
    private readonly passwords: Passwords,
    private readonly clock: Clock,
    private readonly events?: AuthEventBus,
  ) {}

  /** Django's `get_by_natural_key`: the user with this username (NFKC-normalized as at creation), or null. */
  getByUsername(em: EntityManager, username: string): Promise<User | null> {
    return em.findOne(User, { username: normalizeUsername(username) });
  }

  /** Creates the user and says so (`userCreated`, which the audit log records). */
  async createUser(em: EntityManager, input: CreateUserInput): Promise<User> {
    const user = await this.insertUser(em, input);
    await this.announceCreated(user);
    return user;
  }

  /**
   * `createUser` without the event: for a caller inside a transaction, which announces the user
   * (`announceCreated`) once it commits. Said before, a rolled-back user would be in the audit log.
   */
  async insertUser(em: EntityManager, input: CreateUserInput): Promise<User> {
    const username = normalizeUsername(input.username);
    const email = normalizeEmail(input.email ?? '');
    const issues = [...validateUsername(username), ...validateEmailLength(email)];
    // Refused before hashing: see MAX_PASSWORD_LENGTH.
    if (input.password && input.password.length > MAX_PASSWORD_LENGTH) {
      issues.push({
        code: 'password_too_long',
        message: `This password is too long. It must contain at most ${MAX_PASSWORD_LENGTH} characters.`,
        field: 'password',
      });
    }
    if (issues.length === 0 && (await em.count(User, { username })) > 0) issues.push(usernameTaken());
    if (issues.length > 0) throw new ValidationError(issues);

    let id: number;
    try {
      // A plain INSERT, not the unit of work: a refused row leaves nothing behind in the caller's EntityManager.
      id = await em.insert(User, {
        username,
        email,
        password: await this.passwords.hashers.make(input.password ?? null),
        firstName: input.firstName ?? '',
        lastName: input.lastName ?? '',
        isActive: input.isActive ?? true,
        isStaff: input.isStaff ?? false,
        isSuperuser: input.isSuperuser ?? false,
        lastLogin: null,
        dateJoined: this.clock.now(),
      });
    } catch (error) {
      // Another request created the same username between our check and this insert.
      if (error instanceof UniqueConstraintViolationException) throw new ValidationError([usernameTaken()]);
      throw error;
    }
    // Loaded without its hash (a lazy property), like every user the core hands out.
    return em.findOneOrFail(User, { id });
  }

  /** `userCreated` for a user `insertUser` made, once what made it is committed. */
  async announceCreated(user: User): Promise<void> {
    await this.events?.emit('userCreated', {
      userId: user.id,
      username: user.username,
      isStaff: user.isStaff,
      isSuperuser: user.isSuperuser,
    });
  }

  /** Django's `create_superuser`: staff and superuser, and refuses to make one that is not both. */
  async createSuperuser(em: EntityManager, input: CreateUserInput): Promise<User> {
    const issues: ValidationIssue[] = [];
    // As Django's: refuse rather than quietly turn a non-staff request into a superuser.
    if (input.isStaff === false)
      issues.push({ code: 'superuser_not_staff', message: 'Superuser must have is_staff=True.' });
    if (input.isSuperuser === false) {
      issues.push({ code: 'superuser_not_superuser', message: 'Superuser must have is_superuser=True.' });
    }
    if (issues.length > 0) throw new ValidationError(issues);
    return this.createUser(em, { ...input, isStaff: true, isSuperuser: true });
  }
}

/** One code for this fact, from every place that finds it (sign-up, admin, commands). */
function usernameTaken(): ValidationIssue {
  return { code: 'username_taken', message: 'A user with that username already exists.', field: 'username' };
}

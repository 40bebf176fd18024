/** GraphQL IDs of database rows: decimal integer primary keys, refused (BAD_USER_INPUT naming the argument) otherwise. */
import { badUserInput } from './errors.js';

/** PostgreSQL's `integer`. */
const MAX_ID = 2_147_483_647;

export function idOf(value: string, field: string): number {
  if (!/^[1-9]\d{0,9}$/.test(value) || Number(value) > MAX_ID) {
    throw badUserInput([{ code: 'invalid_id', message: `${field} is not the id of anything.`, field }]);
  }
  return Number(value);
}

/** An opaque cursor for a row's key (base64url of it, as text). */
export function cursorOf(key: string | number): string {
  return Buffer.from(String(key), 'utf8').toString('base64url');
}

/** The id a cursor made by cursorOf stands for; BAD_USER_INPUT naming the argument when it is not one. */
export function idOfCursor(cursor: string, field: string): number {
  const decoded = /^[A-Za-z0-9_-]{1,16}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  if (!/^[1-9]\d{0,9}$/.test(decoded) || Number(decoded) > MAX_ID) {
    throw badUserInput([{ code: 'invalid_cursor', message: `${field} is not a cursor this list gave.`, field }]);
  }
  return Number(decoded);
}

/** A page size between 1 and `max` (`first: null` written out arrives as null, whatever the default says). */
export function pageSizeOf(first: number | null | undefined, max: number, fallback = 50): number {
  const size = first ?? fallback;
  if (!Number.isInteger(size) || size < 1 || size > max) {
    throw badUserInput([{ code: 'invalid', message: `first must be between 1 and ${max}.`, field: 'first' }]);
  }
  return size;
}

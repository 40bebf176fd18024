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

/**
 * Adopting an existing database: migrations create a table only when it is missing, so that a Django project's
 * tables (and their constraints, indexes and rows) are left exactly as they are.
 */

/** SQL that runs `ddl` only when `table` (in the public schema) does not exist yet. */
export function createIfMissing(table: string, ddl: string): string {
  return `DO $adopt$ BEGIN
  IF to_regclass('public.${table}') IS NULL THEN
${ddl}
  END IF;
END $adopt$;`;
}

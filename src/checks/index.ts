/**
 * System checks (Django's check framework): each finds one known way the server is misconfigured and says what to
 * do about it. Stable ids (`security.E005`) let operators and tests refer to a check whatever its wording; the
 * letter says the level: E, an error (`check` exits 1), W, a warning.
 *
 * - `configChecks` (config.ts) judge the settings alone; those tagged `deploy` run only with `check --deploy`,
 *   and the server logs them at start-up in production.
 * - `systemChecks` (system.ts) look at what the settings point to: the schema, the database, the session store.
 */
export type CheckLevel = 'error' | 'warning';

export interface CheckResult {
  /** `namespace.E001` or `namespace.W001`: never reused for another meaning. */
  readonly id: string;
  readonly level: CheckLevel;
  /** What is wrong, in one sentence naming the setting or the object. */
  readonly message: string;
  /** What to do about it. */
  readonly hint: string;
}

export function error(id: `${string}.E${string}`, message: string, hint: string): CheckResult {
  return { id, level: 'error', message, hint };
}

export function warning(id: `${string}.W${string}`, message: string, hint: string): CheckResult {
  return { id, level: 'warning', message, hint };
}

/** Django's layout: errors, then warnings, each with its hint; then a count. */
export function formatResults(results: readonly CheckResult[]): string {
  if (results.length === 0) return 'System check identified no issues.\n';
  const section = (title: string, level: CheckLevel) => {
    const ofLevel = results.filter((result) => result.level === level);
    if (ofLevel.length === 0) return '';
    const lines = ofLevel.map(({ id, message, hint }) => `${id}: ${message}\n\tHINT: ${hint}\n`);
    return `${title}:\n${lines.join('')}\n`;
  };
  const count = results.length;
  return (
    `System check identified some issues:\n\n${section('ERRORS', 'error')}${section('WARNINGS', 'warning')}` +
    `System check identified ${count} issue${count === 1 ? '' : 's'}.\n`
  );
}

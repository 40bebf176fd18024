import { StartupError } from '../startup-error.js';

/**
 * The auth core's errors. "No" is a value (authenticate returns null); these mean "refused, with a reason the
 * caller can show" (validation) or "stop the backend chain" (PermissionDenied).
 */

/** One failed rule, with a stable code: tests and clients rely on the code, never the message. */
export interface ValidationIssue {
  readonly code: string;
  readonly message: string;
  readonly field?: string;
}

/** Input refused; lists every failed rule, not only the first. */
export class ValidationError extends Error {
  constructor(readonly issues: readonly ValidationIssue[]) {
    super(issues.map((issue) => issue.message).join(' '));
    this.name = 'ValidationError';
  }
}

/** Thrown by a backend to refuse outright and stop the chain (Django's PermissionDenied in authenticate). */
export class PermissionDenied extends Error {
  constructor(message = 'permission denied') {
    super(message);
    this.name = 'PermissionDenied';
  }
}

/**
 * Django's ImproperlyConfigured: a setting names something that cannot serve (a module that does not load, or whose
 * default export is not what the setting needs). Stops the start with its message, one line naming the setting.
 */
export class ImproperlyConfigured extends StartupError {
  constructor(message: string) {
    super(message);
    this.name = 'ImproperlyConfigured';
  }
}

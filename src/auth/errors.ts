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

/**
 * The base of the core's and the use-cases' errors: each passes the name that logs and stacks show, spelled out
 * rather than read from the class, which a bundler may rename.
 */
export abstract class NamedError extends Error {
  constructor(name: string, message?: string) {
    super(message);
    this.name = name;
  }
}

/** Input refused; lists every failed rule, not only the first. */
export class ValidationError extends NamedError {
  constructor(readonly issues: readonly ValidationIssue[]) {
    super('ValidationError', issues.map((issue) => issue.message).join(' '));
  }
}

/** Thrown by a backend to refuse outright and stop the chain (Django's PermissionDenied in authenticate). */
export class PermissionDenied extends NamedError {
  constructor(message = 'permission denied') {
    super('PermissionDenied', message);
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

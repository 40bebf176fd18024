import { describe, expect, it } from '@jest/globals';
import { StartupError } from '../startup-error.js';
import { ImproperlyConfigured, PermissionDenied, ValidationError } from './errors.js';

/** What callers, logs and the GraphQL layer see of an error. */
function seen(error: Error) {
  return { name: error.name, message: error.message, isStartupError: error instanceof StartupError };
}

describe("the core's errors", () => {
  it('keep their names, messages and bases', () => {
    const issues = [
      { code: 'password_too_short', message: 'Too short.', field: 'password' },
      { code: 'password_too_common', message: 'Too common.' },
    ];
    const validation = new ValidationError(issues);
    expect({ ...seen(validation), issues: validation.issues }).toEqual({
      name: 'ValidationError',
      message: 'Too short. Too common.',
      isStartupError: false,
      issues,
    });
    expect([new PermissionDenied(), new PermissionDenied('not from here')].map(seen)).toEqual([
      { name: 'PermissionDenied', message: 'permission denied', isStartupError: false },
      { name: 'PermissionDenied', message: 'not from here', isStartupError: false },
    ]);
    expect(seen(new ImproperlyConfigured('AUTHENTICATION_BACKENDS: no such module'))).toEqual({
      name: 'ImproperlyConfigured',
      message: 'AUTHENTICATION_BACKENDS: no such module',
      isStartupError: true,
    });
  });

  it('are Errors, and none is another', () => {
    const errors = [new ValidationError([]), new PermissionDenied(), new ImproperlyConfigured('x')];
    expect(
      errors.map((error) => ({
        Error: error instanceof Error,
        ValidationError: error instanceof ValidationError,
        PermissionDenied: error instanceof PermissionDenied,
        ImproperlyConfigured: error instanceof ImproperlyConfigured,
      })),
    ).toEqual([
      { Error: true, ValidationError: true, PermissionDenied: false, ImproperlyConfigured: false },
      { Error: true, ValidationError: false, PermissionDenied: true, ImproperlyConfigured: false },
      { Error: true, ValidationError: false, PermissionDenied: false, ImproperlyConfigured: true },
    ]);
  });

  it('put their name in the stack, as the logs show it', () => {
    expect(new PermissionDenied('no').stack?.split('\n')[0]).toBe('PermissionDenied: no');
  });
});

import { describe, expect, it } from '@jest/globals';
import { PermissionDenied, ValidationError } from '../auth/errors.js';
import * as service from './errors.js';

describe("the use-cases' errors", () => {
  it('keep their names and messages, and are all ServiceErrors', () => {
    const errors = [
      new service.InvalidCredentials(),
      new service.NotLoggedIn(),
      new service.NotPermitted(),
      new service.NotPermitted('Only staff may do this.'),
      new service.NotFound('poll'),
      new service.LockedOut(30),
      new service.InvalidResetLink(),
      new service.PasswordChangedMeanwhile(),
      new service.RegistrationClosed(),
    ];
    expect(
      errors.map((error) => ({
        name: error.name,
        message: error.message,
        isServiceError: error instanceof service.ServiceError,
        isError: error instanceof Error,
      })),
    ).toEqual(
      [
        ['InvalidCredentials', 'Please enter a correct username and password.'],
        ['NotLoggedIn', 'You must be logged in.'],
        ['NotPermitted', 'You do not have permission to do this.'],
        ['NotPermitted', 'Only staff may do this.'],
        ['NotFound', 'No such poll.'],
        ['LockedOut', 'Too many failed attempts. Try again in 30 seconds.'],
        ['InvalidResetLink', 'The password reset link is invalid or has expired; ask for a new one.'],
        ['PasswordChangedMeanwhile', 'The password was changed by another request meanwhile; nothing was changed.'],
        ['RegistrationClosed', 'Registration is closed.'],
      ].map(([name, message]) => ({ name, message, isServiceError: true, isError: true })),
    );
    expect(new service.LockedOut(30).retryAfterSeconds).toBe(30);
  });

  it("the core's errors are not ServiceErrors", () => {
    expect(
      [new ValidationError([]), new PermissionDenied()].map((error) => error instanceof service.ServiceError),
    ).toEqual([false, false]);
  });

  it('put their name in the stack, as the logs show it', () => {
    expect(new service.NotFound('poll').stack?.split('\n')[0]).toBe('NotFound: No such poll.');
  });
});

/** Django's password_reset_email.html and password_reset_subject.txt, with the link PASSWORD_RESET_URL makes. */
import { encodeUid, type ResetUser } from '../auth/index.js';
import type { Config } from '../config/index.js';

/** "3 days", "5 hours", "1 minute": the largest whole unit that fits. */
function duration(seconds: number): string {
  const [count, unit] =
    seconds >= 86_400
      ? [Math.floor(seconds / 86_400), 'day']
      : seconds >= 3600
        ? [Math.floor(seconds / 3600), 'hour']
        : [Math.floor(seconds / 60), 'minute'];
  return `${count} ${unit}${count === 1 ? '' : 's'}`;
}

/** The page of the front-end that asks for the new password, with this user's uid and token in it. */
export function resetLink(user: ResetUser, token: string, config: Pick<Config, 'passwordReset'>): string {
  return config.passwordReset.urlTemplate
    .replaceAll('{uid}', encodeURIComponent(encodeUid(user.id)))
    .replaceAll('{token}', encodeURIComponent(token));
}

export function resetMessage(
  user: ResetUser,
  link: string,
  config: Pick<Config, 'passwordReset'>,
): { subject: string; text: string } {
  const site = new URL(link).host;
  return {
    subject: `Password reset on ${site}`,
    text: [
      `You're receiving this email because you requested a password reset for your user account at ${site}.`,
      '',
      'Please go to the following page and choose a new password:',
      '',
      link,
      '',
      `Your username, in case you've forgotten: ${user.username}`,
      '',
      `The link works once, for ${duration(config.passwordReset.timeoutSeconds)} at most.`,
      '',
      'Thanks for using our site!',
      '',
      `The ${site} team`,
      '',
    ].join('\n'),
  };
}

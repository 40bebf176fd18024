/**
 * The polls app's password validator: a password must not contain the site's name, which is the first word an
 * attacker who knows the site tries (Django's UserAttributeSimilarityValidator does the same with the user's own
 * name and address). It answers a code of its own, which clients can tell apart from the built-ins'.
 *
 *   PASSWORD_VALIDATORS=similarity,min_length,common,numeric,./examples/polls/validator.ts
 */
import type { PasswordValidator } from 'graphql-auth-server';

const SITE_NAME = 'polls';

const validator: PasswordValidator = {
  validate(password) {
    // Compared without case, accents or full-width forms: "PÖLLS" and "Ｐｏｌｌｓ" hold the site's name as well as "polls".
    const folded = password.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase();
    if (!folded.includes(SITE_NAME)) return null;
    return {
      code: 'password_contains_site_name',
      message: `The password must not contain the site's name ("${SITE_NAME}").`,
      field: 'password',
    };
  },
};

export default validator;

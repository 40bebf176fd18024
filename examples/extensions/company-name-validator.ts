/**
 * A password validator: refuses passwords that contain the company's name, with a code of its own that clients can
 * tell apart from the built-ins' (`password_too_short`, ...). Every validator listed runs, and every refusal is
 * reported.
 *
 *   PASSWORD_VALIDATORS=similarity,min_length,common,numeric,./examples/extensions/company-name-validator.ts
 */
import type { PasswordValidator } from 'graphql-auth-server';

const COMPANY = 'acme';

const validator: PasswordValidator = {
  validate(password) {
    if (!password.toLowerCase().includes(COMPANY)) return null;
    return {
      code: 'password_contains_company_name',
      message: `The password must not contain "${COMPANY}".`,
      field: 'password',
    };
  },
};

export default validator;

/** The Django 3.2 fixture (test/fixtures/django-auth/): its SQL dump and the passwords its README gives. */
import fs from 'node:fs';

export const DJANGO_FIXTURE = new URL('../fixtures/django-auth/django-3.2-auth.sql', import.meta.url);

export function djangoFixtureSql(): string {
  return fs.readFileSync(DJANGO_FIXTURE, 'utf8');
}

/** The fixture's users whose passwords its README gives (grace has none: her password is unusable). */
export const DJANGO_PASSWORDS = {
  admin: 'admin-pass-2931',
  alice: 'wonderland-42',
  bob: 'builder-can-we-fix-it',
  carol: 'carol sings 7 carols',
  dave: 'dave-bcrypt-pass',
  erin: 'erin-plain-bcrypt',
  frank: 'frank-is-inactive',
} as const;

/**
 * The bench's data, written straight into the scratch database (the server has migrated it): users in two groups
 * with a direct permission each, all with one password hashed by the server's default hasher; and a user who sees
 * 100 of 200 polls through object-level grants only.
 */
import pg from 'pg';
import type { Auth } from '../../src/auth/index.js';

export const PASSWORD = 'bench-password-correct-horse';

export interface Seeded {
  usernames: string[];
  pollster: string;
  grantedPolls: number;
  /** A user who sees polls through object-level grants only, set by `seedListedPolls`. */
  lister: string;
}

const GROUPS = {
  'bench-editors': ['polls.view_poll', 'polls.add_poll', 'polls.change_poll'],
  'bench-viewers': ['polls.view_poll', 'polls.view_choice'],
};

export async function seed(url: string, auth: Auth, users: number): Promise<Seeded> {
  // One hash for every user (each has its own row): hashing 1,000 times would only make the bench slower to start.
  const hash = await auth.passwords.hashers.make(PASSWORD);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('BEGIN');
    const permissionId = async (perm: string): Promise<number> => {
      const [appLabel, codename] = perm.split('.');
      const { rows } = await client.query<{ id: number }>(
        `SELECT p.id FROM auth_permission p JOIN django_content_type ct ON ct.id = p.content_type_id
          WHERE ct.app_label = $1 AND p.codename = $2`,
        [appLabel, codename],
      );
      if (!rows[0]) throw new Error(`no permission ${perm} in the database`);
      return rows[0].id;
    };
    const groupIds: number[] = [];
    for (const [name, perms] of Object.entries(GROUPS)) {
      const { rows } = await client.query<{ id: number }>('INSERT INTO auth_group (name) VALUES ($1) RETURNING id', [
        name,
      ]);
      const groupId = rows[0]?.id ?? 0;
      groupIds.push(groupId);
      for (const perm of perms) {
        await client.query('INSERT INTO auth_group_permissions (group_id, permission_id) VALUES ($1, $2)', [
          groupId,
          await permissionId(perm),
        ]);
      }
    }
    const usernames = Array.from({ length: users }, (_user, n) => `bench-${String(n).padStart(4, '0')}`);
    const { rows: created } = await client.query<{ id: number }>(
      `INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, is_staff, is_active,
         date_joined)
       SELECT $1, false, name, '', '', name || '@example.com', false, true, now() FROM unnest($2::text[]) AS name
       RETURNING id`,
      [hash, usernames],
    );
    const userIds = created.map(({ id }) => id);
    await client.query(
      'INSERT INTO auth_user_groups (user_id, group_id) SELECT u, g FROM unnest($1::int[]) u, unnest($2::int[]) g',
      [userIds, groupIds],
    );
    await client.query(
      'INSERT INTO auth_user_user_permissions (user_id, permission_id) SELECT u, $2 FROM unnest($1::int[]) u',
      [userIds, await permissionId('auth.view_user')],
    );

    const pollster = 'bench-pollster';
    const { rows: pollsterRows } = await client.query<{ id: number }>(
      `INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, is_staff, is_active,
         date_joined) VALUES ($1, false, $2, '', '', '', false, true, now()) RETURNING id`,
      [hash, pollster],
    );
    const { rows: polls } = await client.query<{ id: number }>(
      `INSERT INTO polls_poll (question, pub_date) SELECT 'Question ' || n, now() FROM generate_series(1, 200) n
       RETURNING id`,
    );
    const pollIds = polls.map(({ id }) => id);
    await client.query(
      `INSERT INTO polls_choice (poll_id, choice_text, votes) SELECT p, 'Choice ' || c, 0
         FROM unnest($1::int[]) p, generate_series(1, 3) c`,
      [pollIds],
    );
    // Every other poll: the list must be filtered, not just returned.
    const granted = pollIds.filter((_id, index) => index % 2 === 0);
    await client.query(
      `INSERT INTO guardian_userobjectpermission (object_pk, content_type_id, permission_id, user_id)
       SELECT p::text, ct.id, $2, $3 FROM unnest($1::int[]) p,
         django_content_type ct WHERE ct.app_label = 'polls' AND ct.model = 'poll'`,
      [granted, await permissionId('polls.view_poll'), pollsterRows[0]?.id],
    );
    const lister = 'bench-lister';
    await client.query(
      `INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, is_staff, is_active,
         date_joined) VALUES ($1, false, $2, '', '', '', false, true, now())`,
      [hash, lister],
    );
    await client.query('COMMIT');
    return { usernames, pollster, grantedPolls: granted.length, lister };
  } finally {
    await client.end();
  }
}

/**
 * Tops the polls table up to `polls` rows, and gives `lister` polls.view_poll on `grants` of them, spread evenly
 * through the table (its previous grants go): the world of the object-level list budget.
 */
export async function seedListedPolls(url: string, lister: string, polls: number, grants: number): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('BEGIN');
    await client.query(
      `INSERT INTO polls_poll (question, pub_date)
       SELECT 'Listed ' || n, now() FROM generate_series(1, $1::int - (SELECT count(*) FROM polls_poll)::int) n`,
      [polls],
    );
    const { rows } = await client.query<{ id: number }>('SELECT id FROM auth_user WHERE username = $1', [lister]);
    const userId = rows[0]?.id;
    await client.query('DELETE FROM guardian_userobjectpermission WHERE user_id = $1', [userId]);
    await client.query(
      `INSERT INTO guardian_userobjectpermission (object_pk, content_type_id, permission_id, user_id)
       SELECT p.id::text, ct.id, perm.id, $1 FROM
         (SELECT id, row_number() OVER (ORDER BY id) AS n FROM polls_poll) p,
         django_content_type ct JOIN auth_permission perm ON perm.content_type_id = ct.id AND perm.codename = 'view_poll'
        WHERE ct.app_label = 'polls' AND ct.model = 'poll' AND p.n % ($2::int / $3::int) = 0`,
      [userId, polls, grants],
    );
    await client.query('COMMIT');
    // As autovacuum would leave them in a running database: statistics and the visibility map up to date.
    await client.query('VACUUM ANALYZE polls_poll');
    await client.query('VACUUM ANALYZE guardian_userobjectpermission');
  } finally {
    await client.end();
  }
}

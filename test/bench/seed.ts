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

/** One point of the cost curve: a user whose `me` answers `permissions` permissions, through direct grants or groups. */
export interface CurveUser {
  label: string;
  username: string;
  permissions: number;
}

/** The cost curve's shapes (issue: `me` for 0, 10, 100 and 1,000 permissions, and 1, 10 and 100 groups). */
const CURVE_PERMISSIONS = [0, 10, 100, 1_000];
const CURVE_GROUPS = [1, 10, 100];
/** Each group of the group series grants ten permissions of its own: 100 groups, 1,000 permissions. */
const PERMISSIONS_PER_GROUP = 10;

/**
 * The cost curve's users: 1,000 permissions of a model of their own (`benchcurve.perm_0001`...), users holding 0 to
 * 1,000 of them directly (and one empty group, as a user usually is in one), and users in 1 to 100 groups of ten
 * permissions each. Their password is the seeded users' (copied, not hashed again).
 */
export async function seedCostCurve(url: string): Promise<CurveUser[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('BEGIN');
    const { rows: types } = await client.query<{ id: number }>(
      "INSERT INTO django_content_type (app_label, model) VALUES ('benchcurve', 'thing') RETURNING id",
    );
    const { rows: permissions } = await client.query<{ id: number }>(
      `INSERT INTO auth_permission (name, content_type_id, codename)
       SELECT 'Can do ' || n, $1, 'perm_' || lpad(n::text, 4, '0') FROM generate_series(1, 1000) n ORDER BY n
       RETURNING id`,
      [types[0]?.id],
    );
    const permissionIds = permissions.map(({ id }) => id);
    const newUser = async (username: string): Promise<number> => {
      const { rows } = await client.query<{ id: number }>(
        `INSERT INTO auth_user (password, is_superuser, username, first_name, last_name, email, is_staff, is_active,
           date_joined)
         SELECT password, false, $1, '', '', '', false, true, now() FROM auth_user WHERE username = 'bench-0000'
         RETURNING id`,
        [username],
      );
      if (!rows[0]) throw new Error('seed the bench users first');
      return rows[0].id;
    };
    const newGroup = async (name: string, perms: readonly number[]): Promise<number> => {
      const { rows } = await client.query<{ id: number }>('INSERT INTO auth_group (name) VALUES ($1) RETURNING id', [
        name,
      ]);
      const groupId = rows[0]?.id ?? 0;
      await client.query(
        'INSERT INTO auth_group_permissions (group_id, permission_id) SELECT $1, p FROM unnest($2::int[]) p',
        [groupId, perms],
      );
      return groupId;
    };
    const users: CurveUser[] = [];
    const empty = await newGroup('curve-empty', []);
    for (const count of CURVE_PERMISSIONS) {
      const username = `curve-permissions-${count}`;
      const userId = await newUser(username);
      await client.query('INSERT INTO auth_user_groups (user_id, group_id) VALUES ($1, $2)', [userId, empty]);
      await client.query(
        'INSERT INTO auth_user_user_permissions (user_id, permission_id) SELECT $1, p FROM unnest($2::int[]) p',
        [userId, permissionIds.slice(0, count)],
      );
      users.push({ label: `${count} permissions, 1 group`, username, permissions: count });
    }
    const groupIds: number[] = [];
    for (let group = 0; group < Math.max(...CURVE_GROUPS); group++) {
      const perms = permissionIds.slice(group * PERMISSIONS_PER_GROUP, (group + 1) * PERMISSIONS_PER_GROUP);
      groupIds.push(await newGroup(`curve-group-${String(group + 1).padStart(3, '0')}`, perms));
    }
    for (const count of CURVE_GROUPS) {
      const username = `curve-groups-${count}`;
      const userId = await newUser(username);
      await client.query('INSERT INTO auth_user_groups (user_id, group_id) SELECT $1, g FROM unnest($2::int[]) g', [
        userId,
        groupIds.slice(0, count),
      ]);
      users.push({
        label: `${count} group${count === 1 ? '' : 's'}, ${count * PERMISSIONS_PER_GROUP} permissions`,
        username,
        permissions: count * PERMISSIONS_PER_GROUP,
      });
    }
    await client.query('COMMIT');
    await client.query('ANALYZE');
    return users;
  } finally {
    await client.end();
  }
}

/**
 * Fills the session table up to `rows` rows with sessions shaped like the real ones (a real session's data, the
 * seeded users spread over them), as a busy site's table is; `remove` deletes the filler again. Returns the count.
 */
export async function fillSessions(url: string, rows: number): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(
      `INSERT INTO gqlauth_session (sid, data, expires_at, user_id)
       SELECT 'filler-' || md5(n::text), (SELECT data FROM gqlauth_session LIMIT 1), now() + interval '14 days',
              (users.ids)[1 + n % cardinality(users.ids)]
         FROM generate_series(1, $1::int - (SELECT count(*) FROM gqlauth_session)::int) n,
              (SELECT array_agg(id) AS ids FROM auth_user) users`,
      [rows],
    );
    // As autovacuum would leave a table that size: statistics and the visibility map up to date.
    await client.query('VACUUM ANALYZE gqlauth_session');
    const { rows: counted } = await client.query<{ count: string }>('SELECT count(*) FROM gqlauth_session');
    return Number(counted[0]?.count ?? 0);
  } finally {
    await client.end();
  }
}

export async function removeFillerSessions(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query("DELETE FROM gqlauth_session WHERE sid LIKE 'filler-%'");
    await client.query('VACUUM ANALYZE gqlauth_session');
  } finally {
    await client.end();
  }
}

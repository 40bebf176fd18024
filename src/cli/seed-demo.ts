/**
 * Demo data for exploring the API in GraphiQL (or Apollo Sandbox): the groups Editors and Viewers, three users and two polls.
 * Idempotent: what exists already is left as it is. Refused in production, where users with published passwords
 * would be a way in.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Auth } from '../auth/index.js';
import { Group } from '../entities/group.js';
import { Permission } from '../entities/permission.js';
import { Choice, Poll } from '../entities/poll.js';
import { User } from '../entities/user.js';

/** Who the demo creates, with the passwords the README's Quick start and docs/graphql.md ("Demo data") tell. */
export const DEMO_USERS = [
  { username: 'admin', password: 'demo-admin-password', isSuperuser: true, groups: [] },
  { username: 'editor', password: 'demo-editor-password', isSuperuser: false, groups: ['Editors'] },
  { username: 'viewer', password: 'demo-viewer-password', isSuperuser: false, groups: ['Viewers'] },
] as const;

export const DEMO_GROUPS = {
  Editors: ['polls.view_poll', 'polls.add_poll', 'polls.change_poll', 'polls.add_choice', 'polls.view_choice'],
  Viewers: ['polls.view_poll', 'polls.view_choice'],
} as const;

const DEMO_POLLS = [
  { question: "What's new?", choices: ['Not much', 'The sky'] },
  { question: 'Tabs or spaces?', choices: ['Tabs', 'Spaces', 'Both'] },
];

/** Creates what is missing; returns one line per thing created. */
export async function seedDemo(em: EntityManager, auth: Auth): Promise<string[]> {
  const created: string[] = [];
  return em.transactional(async (tx) => {
    for (const [name, perms] of Object.entries(DEMO_GROUPS)) {
      if (await tx.findOne(Group, { name })) continue;
      const group = tx.create(Group, { name });
      for (const perm of perms) {
        const [appLabel, codename] = perm.split('.');
        group.permissions.add(
          await tx.findOneOrFail(Permission, { codename: codename ?? '', contentType: { appLabel: appLabel ?? '' } }),
        );
      }
      await tx.flush();
      created.push(`group ${name}: ${perms.join(', ')}`);
    }
    for (const demo of DEMO_USERS) {
      if (await tx.findOne(User, { username: demo.username })) continue;
      const user = await auth.users.createUser(tx, {
        username: demo.username,
        email: `${demo.username}@example.com`,
        password: demo.password,
        isSuperuser: demo.isSuperuser,
        isStaff: demo.isSuperuser,
      });
      const loaded = await tx.findOneOrFail(User, user.id, { populate: ['groups'] });
      for (const name of demo.groups) loaded.groups.add(await tx.findOneOrFail(Group, { name }));
      await tx.flush();
      created.push(`user ${demo.username} (password ${demo.password})`);
    }
    if ((await tx.count(Poll, {})) === 0) {
      for (const { question, choices } of DEMO_POLLS) {
        const poll = tx.create(Poll, { question, pubDate: new Date() });
        for (const text of choices) tx.create(Choice, { poll, text, votes: 0 });
      }
      await tx.flush();
      created.push(`${DEMO_POLLS.length} polls`);
    }
    return created;
  });
}

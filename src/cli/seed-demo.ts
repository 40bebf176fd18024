/**
 * Demo data for exploring the API in GraphiQL (or Apollo Sandbox): the groups Editors and Viewers, three users, and
 * each installed app's own (the polls example's: its permissions for the groups, two polls).
 * Idempotent: what exists already is left as it is. Refused in production, where users with published passwords
 * would be a way in.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { App } from '../apps.js';
import type { Auth } from '../auth/index.js';
import { Group } from '../entities/group.js';
import { Permission } from '../entities/permission.js';
import { User } from '../entities/user.js';

/** Who the demo creates, with the passwords the README's Quick start and docs/graphql.md ("Demo data") tell. */
export const DEMO_USERS = [
  { username: 'admin', password: 'demo-admin-password', isSuperuser: true, groups: [] },
  { username: 'editor', password: 'demo-editor-password', isSuperuser: false, groups: ['Editors'] },
  { username: 'viewer', password: 'demo-viewer-password', isSuperuser: false, groups: ['Viewers'] },
] as const;

export const DEMO_GROUP_NAMES = ['Editors', 'Viewers'] as const;

/** Each demo group's permissions: what the installed apps give it (the server's own API needs none to explore). */
export function demoGroups(apps: readonly App[]): Record<(typeof DEMO_GROUP_NAMES)[number], string[]> {
  const permissionsOf = (name: (typeof DEMO_GROUP_NAMES)[number]) =>
    apps.flatMap((app) => app.demo?.groupPermissions?.[name] ?? []);
  return { Editors: permissionsOf('Editors'), Viewers: permissionsOf('Viewers') };
}

/** Creates what is missing; returns one line per thing created. */
export async function seedDemo(em: EntityManager, auth: Auth, apps: readonly App[] = []): Promise<string[]> {
  const created: string[] = [];
  return em.transactional(async (tx) => {
    for (const [name, perms] of Object.entries(demoGroups(apps))) {
      if (await tx.findOne(Group, { name })) continue;
      const group = tx.create(Group, { name });
      for (const perm of perms) {
        const [appLabel, codename] = perm.split('.');
        group.permissions.add(
          await tx.findOneOrFail(Permission, { codename: codename ?? '', contentType: { appLabel: appLabel ?? '' } }),
        );
      }
      await tx.flush();
      created.push(`group ${name}: ${perms.join(', ') || 'no permissions'}`);
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
    for (const app of apps) {
      const made = await app.demo?.seed?.(tx);
      if (made !== undefined) created.push(made);
    }
    return created;
  });
}

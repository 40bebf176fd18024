/**
 * auth_user, column for column as Django's AbstractUser writes it, so an existing Django database is read as is.
 * Behaviour (passwords, permissions) lives in src/auth/, not here: this is the row.
 */
import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { Group } from './group.js';
import { Permission } from './permission.js';

export const User = defineEntity({
  name: 'User',
  tableName: 'auth_user',
  properties: {
    id: p.integer().primary().autoincrement(),
    /** A hash in Django's format, or `!` and 40 random characters for an unusable password. Never a raw one. */
    password: p.string().length(128).hidden().lazy(),
    lastLogin: p.datetime().nullable(),
    isSuperuser: p.boolean(),
    username: p.string().length(150).unique(),
    firstName: p.string().length(150),
    lastName: p.string().length(150),
    email: p.string().length(254),
    isStaff: p.boolean(),
    isActive: p.boolean(),
    dateJoined: p.datetime(),
    groups: () =>
      p.manyToMany(Group).pivotTable('auth_user_groups').joinColumn('user_id').inverseJoinColumn('group_id'),
    userPermissions: () =>
      p
        .manyToMany(Permission)
        .pivotTable('auth_user_user_permissions')
        .joinColumn('user_id')
        .inverseJoinColumn('permission_id'),
  },
});
export type User = InferEntity<typeof User>;

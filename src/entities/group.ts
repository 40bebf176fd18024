/**
 * auth_group: a named set of permissions; users in the group hold them all.
 */
import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { Permission } from './permission.js';

export const Group = defineEntity({
  name: 'Group',
  tableName: 'auth_group',
  properties: {
    id: p.integer().primary().autoincrement(),
    name: p.string().length(150).unique(),
    permissions: () =>
      p
        .manyToMany(Permission)
        .pivotTable('auth_group_permissions')
        .joinColumn('group_id')
        .inverseJoinColumn('permission_id'),
  },
});
export type Group = InferEntity<typeof Group>;

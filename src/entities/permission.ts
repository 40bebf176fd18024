/**
 * auth_permission: a codename within a content type; written `app_label.codename` everywhere else.
 */
import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { ContentType } from './content-type.js';

export const Permission = defineEntity({
  name: 'Permission',
  tableName: 'auth_permission',
  properties: {
    id: p.integer().primary().autoincrement(),
    name: p.string().length(255),
    contentType: () => p.manyToOne(ContentType),
    codename: p.string().length(100),
  },
  uniques: [{ properties: ['contentType', 'codename'] }],
});
export type Permission = InferEntity<typeof Permission>;

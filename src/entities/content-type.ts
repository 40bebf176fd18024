/**
 * django_content_type: one row per model ("app_label", "model"); permissions hang off it.
 */
import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

export const ContentType = defineEntity({
  name: 'ContentType',
  tableName: 'django_content_type',
  properties: {
    id: p.integer().primary().autoincrement(),
    appLabel: p.string().length(100),
    model: p.string().length(100),
  },
  uniques: [{ properties: ['appLabel', 'model'] }],
});
export type ContentType = InferEntity<typeof ContentType>;

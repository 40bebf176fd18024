/**
 * Every entity the ORM knows, in one list. Each entity lives in its own file in this folder
 * (MikroORM `defineEntity` schemas) and is added here.
 */
import type { EntitySchema } from '@mikro-orm/core';

export const entities: EntitySchema[] = [];

/**
 * Every entity the ORM knows, in one list. Each entity lives in its own file in this folder
 * (MikroORM `defineEntity` schemas) and is added here.
 */
import { ContentType } from './content-type.js';
import { Group } from './group.js';
import { Permission } from './permission.js';
import { User } from './user.js';

export { ContentType, Group, Permission, User };

export const entities = [ContentType, Permission, Group, User];

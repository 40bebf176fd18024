/**
 * What every resolver receives. Built once per request, in app.ts.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Logger } from '../logger.js';

export interface GraphQLContext {
  /** An EntityManager forked for this request: its identity map is never shared between requests. */
  readonly em: EntityManager;
  readonly logger: Logger;
}

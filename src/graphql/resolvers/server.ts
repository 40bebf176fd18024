import type { Resolvers } from '../generated/resolvers.js';
import { version } from '../../version.js';

export const serverResolvers: Resolvers = {
  Query: {
    serverInfo: () => ({ version, time: new Date() }),
  },
};

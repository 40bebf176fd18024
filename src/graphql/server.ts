/**
 * Apollo Server: schema, landing page, error formatting, and draining the HTTP server on shutdown.
 */
import type http from 'node:http';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import type { Config } from '../config/index.js';
import type { GraphQLContext } from './context.js';
import { createFormatError } from './errors.js';
import type { GraphQLSchema } from 'graphql';
import type { Logger } from '../logger.js';

export function createApolloServer(
  config: Config,
  logger: Logger,
  schema: GraphQLSchema,
  httpServer: http.Server,
): ApolloServer<GraphQLContext> {
  const plugins: ApolloServerPlugin<GraphQLContext>[] = [
    // On stop(): stop accepting, let in-flight requests finish, cut what is left after the grace period.
    ApolloServerPluginDrainHttpServer({ httpServer, stopGracePeriodMillis: config.shutdownTimeoutMs }),
    !config.graphql.landingPage
      ? ApolloServerPluginLandingPageDisabled()
      : // Sandbox with "include cookies" on, so a login run in Sandbox carries its session to the next operation.
        ApolloServerPluginLandingPageLocalDefault({ includeCookies: true, embed: true }),
  ];
  return new ApolloServer<GraphQLContext>({
    schema,
    plugins,
    introspection: config.graphql.introspection,
    // Stack traces stay in the logs; responses never carry them.
    includeStacktraceInErrorResponses: false,
    formatError: createFormatError(logger),
    // main.ts owns the signals, so that the database closes after the HTTP server has drained.
    stopOnTerminationSignals: false,
  });
}

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
import { formatError, logUnexpectedErrors } from './errors.js';
import { buildSchema } from './schema.js';

export function createApolloServer(config: Config, httpServer: http.Server): ApolloServer<GraphQLContext> {
  const plugins: ApolloServerPlugin<GraphQLContext>[] = [
    // On stop(): stop accepting, let in-flight requests finish, cut what is left after the grace period.
    ApolloServerPluginDrainHttpServer({ httpServer, stopGracePeriodMillis: config.shutdownTimeoutMs }),
    config.isProduction
      ? ApolloServerPluginLandingPageDisabled()
      : // Sandbox with "include cookies" on, so a login run in Sandbox carries its session to the next operation.
        ApolloServerPluginLandingPageLocalDefault({ includeCookies: true, embed: true }),
    logUnexpectedErrors,
  ];
  return new ApolloServer<GraphQLContext>({
    schema: buildSchema(),
    plugins,
    introspection: !config.isProduction,
    // Stack traces stay in the logs; responses never carry them.
    includeStacktraceInErrorResponses: false,
    formatError,
    // main.ts owns the signals, so that the database closes after the HTTP server has drained.
    stopOnTerminationSignals: false,
  });
}

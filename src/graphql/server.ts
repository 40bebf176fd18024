/**
 * Apollo Server: schema, landing page, error formatting, and draining the HTTP server on shutdown.
 */
import type http from 'node:http';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import type { Config } from '../config/index.js';
import type { GraphQLContext } from './context.js';
import { collapseDenialsPlugin } from './directives/index.js';
import { createFormatError } from './errors.js';
import { inputTextPlugin } from './input-text.js';
import { aliasAndDirectiveLimits } from './limits.js';
import { onePerOperation } from './validation.js';
import type { GraphQLSchema } from 'graphql';
import type { Logger } from '../logger.js';

/** The requests still being answered (src/http/in-flight.ts), waited for at shutdown. */
export interface InFlight {
  readonly size: number;
  /** True once every request has ended, false if some are still running after `timeoutMs`. */
  settled(timeoutMs: number): Promise<boolean>;
}

export function createApolloServer(
  config: Config,
  logger: Logger,
  schema: GraphQLSchema,
  httpServer: http.Server,
  inFlight: InFlight,
): ApolloServer<GraphQLContext> {
  const plugins: ApolloServerPlugin<GraphQLContext>[] = [
    // On stop(): stop accepting, let in-flight requests finish, cut what is left after the grace period.
    ApolloServerPluginDrainHttpServer({ httpServer, stopGracePeriodMillis: config.shutdownTimeoutMs }),
    // Beside it, for the same time: the handlers whose client went away, which the HTTP drain does not see (a login
    // waiting its turn to hash). While drains run Apollo still executes operations; once they end it refuses them,
    // and the session store and the database close after it.
    {
      serverWillStart() {
        return Promise.resolve({
          async drainServer() {
            if (!(await inFlight.settled(config.shutdownTimeoutMs))) {
              logger.warn(
                { requests: inFlight.size },
                'requests still running after SHUTDOWN_TIMEOUT_MS: the database closes under them',
              );
            }
          },
        });
      },
    },
    config.graphql.explorer === 'sandbox'
      ? // Sandbox with "include cookies" on, so a login run in Sandbox carries its session to the next operation.
        ApolloServerPluginLandingPageLocalDefault({ includeCookies: true, embed: true })
      : // GraphiQL is served before Apollo (src/http/explorer.ts); Apollo's own default would be Sandbox.
        ApolloServerPluginLandingPageDisabled(),
    // Answers are per user and never cached by HTTP caches: no @cacheControl hints to compute on every field.
    ApolloServerPluginCacheControlDisabled(),
    // One error per denied field coordinate, however many items of a list it was denied in.
    collapseDenialsPlugin<GraphQLContext>(),
    // Text PostgreSQL cannot store, or longer than the column it lands in, never reaches a query (it would fail it:
    // a 500 for the client's mistake): BAD_USER_INPUT naming the argument, from literals and variables alike.
    inputTextPlugin<GraphQLContext>(),
  ];
  const { limits, introspection } = config.graphql;
  // Limits that refuse an abusive operation before it runs, with one generic message (the limits are not told).
  const armor = new ApolloArmor({
    maxDepth: { n: limits.depth, exposeLimits: false },
    // Aliases and directives are counted by our own rule (limits.ts): graphql-armor's skips `a: __typename`, the
    // directives of variable definitions and those of a fragment's every spread but the first.
    maxAliases: { enabled: false },
    // graphql-armor's token limit re-parses in a plugin, and a plain syntax error there becomes a 500: graphql-js
    // counts tokens itself while parsing (parseOptions below), as GRAPHQL_PARSE_FAILED.
    maxTokens: { enabled: false },
    costLimit: { maxCost: limits.cost, exposeLimits: false },
    maxDirectives: { enabled: false },
    // "Did you mean ...?" would list the schema a field at a time: only where introspection lists it anyway.
    blockFieldSuggestion: { enabled: !introspection },
  }).protect();
  return new ApolloServer<GraphQLContext>({
    schema,
    // graphql-armor's types name Apollo's CommonJS declarations, ours its ESM ones: the same plugin interface.
    plugins: [...plugins, ...(armor.plugins as unknown as ApolloServerPlugin<GraphQLContext>[])],
    validationRules: [
      ...armor.validationRules,
      aliasAndDirectiveLimits({ aliases: limits.aliases, directives: limits.directives }),
      onePerOperation,
    ],
    parseOptions: { maxTokens: limits.tokens },
    // One operation per request: an array of a thousand logins is refused whole (Apollo's default, kept explicit).
    allowBatchedHttpRequests: false,
    introspection,
    // Stack traces stay in the logs; responses never carry them.
    includeStacktraceInErrorResponses: false,
    formatError: createFormatError(logger),
    // main.ts owns the signals, so that the database closes after the HTTP server has drained.
    stopOnTerminationSignals: false,
  });
}

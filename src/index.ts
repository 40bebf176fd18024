/**
 * The package's public surface (`import { ... } from 'graphql-auth-server'`), re-exported by name: what is not listed
 * here is internal and may change without notice. Each export says in one line what it is for.
 */

// The auth core, Django's contrib.auth (docs/extending.md).
/** Assembles the core from the settings: hashers, backends, users, permissions, events, password reset. */
export { createAuth, type Auth, type AuthOptions } from './auth/index.js';
/** A setting that cannot work, named in the message (Django's ImproperlyConfigured). */
export { ImproperlyConfigured } from './auth/index.js';
/** Thrown by a backend to stop the chain: nobody logs in with these credentials. */
export { PermissionDenied } from './auth/index.js';
/** A validator's refusal, with one issue per rule broken. */
export { ValidationError, type ValidationIssue } from './auth/index.js';
/** What AUTHENTICATION_BACKENDS modules export by default, and what they are given. */
export type {
  AuthenticationBackend,
  BackendCore,
  BackendExport,
  Credentials,
  CustomAuthenticationBackend,
  LoginFailureReason,
  ReportFailure,
} from './auth/index.js';
/** What PASSWORD_HASHERS modules export by default. */
export type { CustomPasswordHasher, PasswordHasher } from './auth/index.js';
/** What PASSWORD_VALIDATORS modules export by default, and the user attributes they compare with. */
export type { PasswordValidator, UserAttributes } from './auth/index.js';
/** What EVENT_LISTENERS modules export by default, and the events they subscribe to. */
export type { AuthEventBus, AuthEvents, EventSubscriber, Listener } from './auth/index.js';
/** The user, and the request's user (a user or the anonymous one), with the tests that tell them apart. */
export {
  ANONYMOUS_USER,
  isAnonymous,
  isAuthenticated,
  type AnonymousUser,
  type RequestUser,
  type User,
} from './auth/index.js';
/** A successful authentication (the user and the backend that vouched), the permission checker, the clock. */
export type { Authenticated, Clock, PermissionChecker } from './auth/index.js';

// The server.
/** Starts the whole server on an open database; resolves once it listens. */
export { startServer, type RunningServer, type StartOptions } from './server.js';
/** The Express app alone, from its parts, for one's own HTTP server. */
export { createApp, type AppParts } from './app.js';
/** Opens (and migrates) the database the settings name: a PostgreSQL server or the embedded one. */
export { openDatabase, type Database, type OpenDatabaseOptions } from './db/database.js';
/** The server's logger (pino), as startServer takes it. */
export { createLogger, type Logger } from './logger.js';
/** The server's schema from schema/, plus an app's own SDL, resolvers and policies. */
export { buildSchema, type SchemaExtensions } from './graphql/schema.js';
/** A start-up failure whose message is the whole story (one line, no stack). */
export { StartupError } from './startup-error.js';

// The directives, for one's own Apollo Server (docs/security.md: "The directives in your own Apollo Server").
/** The directives as graphql-tools' `{ typeDefs, transformer }` with the Apollo plugin that keeps denials small. */
export { authorizationDirectives } from './graphql/directives/index.js';
/** The transformer alone, and the error listing every field it refuses. */
export { guardSchema, SchemaGuardError } from './graphql/directives/index.js';
/** Checks to run on the SDL before merging: guards given twice, fields added to a @public type. */
export { fieldsOutsidePublic, repeatedGuards } from './graphql/directives/index.js';
/** The Apollo plugin alone. */
export { collapseDenialsPlugin } from './graphql/directives/index.js';
/** The interface the directives ask per request, and named policies for `@policy`. */
export type {
  Authorization,
  AuthorizationUser,
  EnforceOptions,
  ObjectKey,
  Policies,
  Policy,
  PolicyCheck,
  PolicyRequest,
} from './graphql/directives/index.js';

// Apps (docs/apps.md): a team's models, tables, SDL, resolvers and policies, loaded from INSTALLED_APPS.
/** Checks and returns an app's definition, the default export of a module INSTALLED_APPS names. */
export { defineApp, type App, type DemoData } from './apps.js';
/** The apps INSTALLED_APPS names, once loadExtensions has loaded them; and their schema part, for buildSchema. */
export { installedApps, schemaOf } from './apps.js';
/** Django's tables as MikroORM entities, for an app's relations (a profile one-to-one with a user) and queries. */
export { ContentType, Group, Permission, User as UserEntity } from './entities/index.js';
/** A model of an app, whose content type and permissions `migrate` creates (`polls.add_poll`, ...). */
export type { ModelDefinition } from './db/content-types.js';
/** What an app brings to the database: models, entities, migrations, hand-written tables. */
export type { DatabaseApp } from './db/orm-options.js';
/** For a hand-written migration in Django's shape: creates a table only where a Django project has not already. */
export { createIfMissing } from './db/adopt.js';
/** What each resolver receives as its context: the request's EntityManager, user, permission checks and more. */
export type { GraphQLContext } from './graphql/context.js';
/** Typed resolvers that receive and return an app's models: graphql-codegen's `defaultMapper` (docs/apps.md). */
export type { ModelOf } from './graphql/model-types.js';
/** IDs and cursors of database rows, read from arguments (BAD_USER_INPUT naming the argument otherwise). */
export { cursorOf, idOf, idOfCursor, pageSizeOf } from './graphql/ids.js';
/** Object-level permissions (django-guardian's tables): the request's checker, grants, and a deleted object's sweep. */
export {
  deleteObjectPermissions,
  grantObjectPermission,
  revokeObjectPermission,
  type ObjectPermissionChecker,
} from './auth/object-permissions.js';
/** One page of rows in key order, and how many there are in all (`ObjectPermissionChecker.permittedPage`). */
export type { KeysetPage } from './db/keyset-page.js';
/** A use-case's refusals, each answered with its code (NOT_FOUND, ...) by the server's error catalogue. */
export { NotFound, ServiceError } from './services/errors.js';

// Settings.
/** Reads the settings from the environment (and the .env file first); ConfigError lists every bad one. */
export { ConfigError, loadConfig, loadEnvFile, type LoadConfigOptions } from './config/index.js';
/** Loads the modules the settings name (backends, hashers, validators, listeners, apps), once, before anything opens. */
export { loadExtensions } from './auth/extensions.js';
/** The settings, whole and by part (the core takes AuthSettings alone). */
export type {
  AuthSettings,
  Config,
  CorsConfig,
  DatabaseConfig,
  GraphQLConfig,
  LockoutConfig,
  MailConfig,
  PasswordConfig,
  PasswordResetConfig,
  SessionConfig,
  SessionStoreConfig,
} from './config/index.js';

// Errors clients see.
/** The codes answered in `extensions.code`, one per fact. */
export { ErrorCode } from './graphql/errors.js';

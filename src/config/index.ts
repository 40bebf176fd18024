/**
 * The configuration: settings declared once (settings.ts), read from the environment into one frozen object
 * (config.ts), and their documentation (documentation.ts, written by `npm run docs:settings`).
 */
export {
  ConfigError,
  DEVELOPMENT_SESSION_SECRET,
  MIN_SECRET_LENGTH,
  isWeakSecret,
  loadConfig,
  loadEnvFile,
  type AuditConfig,
  type AuthSettings,
  type AuthenticationBackendName,
  type Config,
  type CorsConfig,
  type DatabaseConfig,
  type Explorer,
  type GraphQLConfig,
  type HasherAlgorithm,
  type LoadConfigOptions,
  type AccessTokenConfig,
  type LockoutConfig,
  type LockoutSettings,
  type LogFormat,
  type LogLevel,
  type MailConfig,
  type NodeEnv,
  type PasswordConfig,
  type PasswordResetConfig,
  type PasswordSettings,
  type PasswordValidatorName,
  type SameSite,
  type SessionConfig,
  type SessionStoreConfig,
} from './config.js';
export {
  AUTHENTICATION_BACKENDS,
  EXPLORERS,
  HASHER_ALGORITHMS,
  PASSWORD_VALIDATORS,
  trustsEveryHop,
  type ModuleEntry,
  type Pluggable,
  type TrustProxy,
} from './parsers.js';
export { SETTING_GROUPS, settings, type Setting, type SettingGroup, type SettingName } from './settings.js';

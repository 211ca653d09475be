/** config/ — one zod schema with defaults, YAML file + DATASYNC_* environment, validated and frozen at start. */
export { configSchema, type Config, type ConfigInput, type AccountConfig } from './schema.js';
export { loadConfig, redactConfig, envToObject, type LoadConfigOptions } from './load.js';
export { smsConfigSchema } from './sms.schema.js';

/**
 * Loading: YAML file (`--config FILE` or DATASYNC_CONFIG) + DATASYNC_* environment (`__` nests,
 * SNAKE_CASE becomes camelCase: DATASYNC_SFTP__MAX_SESSIONS_PER_USER → sftp.maxSessionsPerUser), validated
 * once, every problem listed with its path, then deep-frozen.
 */
import fs from 'node:fs';
import { parseDocument } from 'yaml';
import { ConfigError } from '../errors.js';
import { configSchema, type Config } from './schema.js';

export interface LoadConfigOptions {
  /** Path of the YAML file; default DATASYNC_CONFIG; none means defaults + environment only. */
  file?: string;
  env?: NodeJS.ProcessEnv;
}

const camel = (s: string) => s.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** DATASYNC_* variables as a nested object (values stay strings; the schema coerces numbers and booleans). */
export function envToObject(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(env)) {
    if (!k.startsWith('DATASYNC_') || v === undefined || k === 'DATASYNC_CONFIG') continue;
    const parts = k.slice('DATASYNC_'.length).split('__').map(camel);
    let node = out;
    for (const p of parts.slice(0, -1)) {
      if (typeof node[p] !== 'object' || node[p] === null) node[p] = {};
      node = node[p] as Record<string, unknown>;
    }
    node[parts[parts.length - 1]!] = v;
  }
  return out;
}

function merge(base: unknown, over: Record<string, unknown>): unknown {
  if (typeof base !== 'object' || base === null || Array.isArray(base)) return over;
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(over)) {
    out[k] =
      typeof v === 'object' && v !== null && !Array.isArray(v)
        ? merge(out[k], v as Record<string, unknown>)
        : v;
  }
  return out;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}

/** Read, merge and validate; throws ConfigError listing every problem as `path: message`. */
export function loadConfig(opts: LoadConfigOptions = {}): Config {
  const env = opts.env ?? process.env;
  const file = opts.file ?? env.DATASYNC_CONFIG;
  let fromFile: unknown = {};
  if (file) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      throw new ConfigError([
        `${file}: cannot read the configuration file (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
      ]);
    }
    const doc = parseDocument(text);
    if (doc.errors.length)
      throw new ConfigError(doc.errors.map((e) => `${file}: YAML: ${e.message.split('\n')[0]}`));
    fromFile = doc.toJS() ?? {};
    if (typeof fromFile !== 'object' || Array.isArray(fromFile))
      throw new ConfigError([`${file}: the file must hold a YAML mapping`]);
  }
  const merged = merge(fromFile, envToObject(env)) as Record<string, unknown>;
  // DATABASE_URL is the common convention; an explicit `database` key or DATASYNC_DATABASE wins over it.
  if (merged.database === undefined && env.DATABASE_URL) merged.database = env.DATABASE_URL;
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`),
    );
  }
  return deepFreeze(parsed.data);
}

const SECRET_KEY = /password|secret|token|passwordhash/i;

/** A copy safe to log: secrets replaced by "***", URL passwords removed. */
export function redactConfig(value: unknown, key = ''): unknown {
  if (typeof value === 'string') {
    if (SECRET_KEY.test(key)) return '***';
    return value.replace(/\/\/([^:/@]+):([^@]*)@/, '//$1:***@');
  }
  if (Array.isArray(value)) return value.map((v) => redactConfig(v, key));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactConfig(v, k)]));
  }
  return value;
}

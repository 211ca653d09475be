/** What every command needs: the resolved config and, for most, an open store (closed when the command ends). */
import { loadConfig, type Config } from '../config/index.js';
import { openStore, type Store } from '../store/index.js';

export interface GlobalOptions {
  config?: string;
}

export function configFrom(opts: GlobalOptions): Config {
  return loadConfig(opts.config ? { file: opts.config } : {});
}

export async function openConfiguredStore(config: Config): Promise<Store> {
  return openStore({ database: config.database, dataDir: config.dataDir });
}

/** Run `fn` with an open store and close it afterwards, whatever happens. */
export async function withStore<T>(
  opts: GlobalOptions,
  fn: (store: Store, config: Config) => Promise<T>,
): Promise<T> {
  const config = configFrom(opts);
  const store = await openConfiguredStore(config);
  try {
    return await fn(store, config);
  } finally {
    await store.close();
  }
}

import type { Config } from '../config/index.js';

/** Base URL of tracking links: `http.publicUrl`, or this machine's HTTP port for a local setup. */
export function publicUrlOf(config: Config): string {
  return config.http.publicUrl ?? `http://localhost:${config.http.port}`;
}

/** The provider factory over the `sms:` configuration section (whose schema lives in config/). */
import path from 'node:path';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { smsConfigSchema } from '../config/index.js';
import { DatasyncError } from '../errors.js';
import { HttpProvider } from './http-provider.js';
import { LogProvider } from './log-provider.js';
import { SmppProvider } from './smpp-provider.js';
import type { SmsProvider } from './sms-provider.js';

export { smsConfigSchema };

export type SmsConfig = z.output<typeof smsConfigSchema>;
export type SmsConfigInput = z.input<typeof smsConfigSchema>;

/** Validate an `sms:` section on its own (tests). */
export function parseSmsConfig(input: SmsConfigInput = {}): SmsConfig {
  return smsConfigSchema.parse(input);
}

/** Build the configured provider. Throws DS_SMS_PROVIDER_CONFIG when its required settings are missing. */
export function createSmsProvider(
  config: SmsConfig,
  opts: { dataDir: string; logger?: Logger },
): SmsProvider {
  switch (config.provider) {
    case 'log':
      return new LogProvider({
        file: path.resolve(opts.dataDir, config.log.file),
        ratePerSecond: config.log.ratePerSecond,
      });
    case 'smpp':
      if (!config.smpp.systemId)
        throw new DatasyncError(
          'DS_SMS_PROVIDER_CONFIG',
          'sms.smpp.systemId is required for the smpp provider',
        );
      return new SmppProvider(config.smpp, opts.logger);
    case 'http':
      if (!config.http.url)
        throw new DatasyncError('DS_SMS_PROVIDER_CONFIG', 'sms.http.url is required for the http provider');
      return new HttpProvider({ ...config.http, url: config.http.url });
  }
}

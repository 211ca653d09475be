/**
 * The `sms:` section: which provider sends CSV2SMS campaigns and how (docs/sms.md). Kept in config/ so the
 * one configuration schema owns it; sms/ reads the resolved type.
 */
import { z } from 'zod';

const int = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);

export const smsConfigSchema = z
  .strictObject({
    /** Which provider sends: `log` (development, default), `smpp`, `http`. */
    provider: z.enum(['log', 'smpp', 'http']).default('log'),
    /** Largest number of SMS parts one message may take (3 = 459 GSM-7 / 201 UCS-2 characters). Default 3. */
    maxSegments: int(3, 1).pipe(z.number().max(10)),
    /** List used when a CSV2SMS file's header row 5 is empty. Default 1. */
    defaultListId: int(1, 1),
    smpp: z
      .strictObject({
        host: z.string().default('127.0.0.1'),
        port: z.coerce.number().int().min(1).max(65535).default(2775),
        systemId: z.string().default(''),
        password: z.string().default(''),
        systemType: z.string().default(''),
        /** submit_sm awaiting their response at once. Default 10. */
        windowSize: int(10, 1),
        /** submit_sm PDUs per second (every part counts); 0 = unlimited. Default 0. */
        ratePerSecond: int(0),
        enquireLinkSeconds: int(30, 1),
        responseTimeoutMs: int(10_000, 100),
        reconnectBaseMs: int(500, 10),
        reconnectMaxMs: int(30_000, 10),
        unavailableAfterMs: int(60_000, 100),
        throttleBaseMs: int(200, 1),
        throttleMaxMs: int(10_000, 1),
        maxThrottleRetries: int(10, 0),
      })
      .prefault({}),
    http: z
      .strictObject({
        url: z.string().url().optional(),
        headers: z.record(z.string(), z.string()).default({}),
        fields: z
          .strictObject({
            to: z.string().default('to'),
            from: z.string().default('from'),
            text: z.string().default('text'),
            encoding: z.string().default('encoding'),
            reference: z.string().default('reference'),
          })
          .prefault({}),
        extraBody: z.record(z.string(), z.unknown()).default({}),
        messageIdPath: z.string().default('id'),
        concurrency: int(10, 1),
        ratePerSecond: int(0),
        timeoutMs: int(10_000, 100),
        throttleBaseMs: int(200, 1),
        throttleMaxMs: int(10_000, 1),
        maxThrottleRetries: int(10, 0),
        /** Where the webhook body keeps each field (dot paths). */
        dlr: z
          .strictObject({
            idPath: z.string().default('id'),
            statusPath: z.string().default('status'),
            errorPath: z.string().default('error'),
            timePath: z.string().default('doneAt'),
          })
          .prefault({}),
      })
      .prefault({}),
    log: z
      .strictObject({
        /** JSON-lines file, relative to dataDir. Default `sms/sms-log.jsonl`. */
        file: z.string().default('sms/sms-log.jsonl'),
        ratePerSecond: int(0),
      })
      .prefault({}),
  })
  .prefault({});

/**
 * The whole domain of reference §1.4 in one migration, so later capabilities add behaviour, not schema churn.
 * Written with Kysely's schema builder so both dialects run the same definition.
 */
import { sql, type Kysely } from 'kysely';
import type { StoreDialect } from '../dialect.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyDb = Kysely<any>;

export async function up(db: AnyDb, dialect: StoreDialect): Promise<void> {
  const id = (b: ReturnType<AnyDb['schema']['createTable']>) =>
    b.addColumn('id', dialect.autoIdType, (c) => {
      const col = c.primaryKey();
      return dialect.autoIdNeedsAutoIncrement ? col.autoIncrement() : col;
    });

  await db.schema
    .createTable('accounts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('time_zone', 'text', (c) => c.notNull().defaultTo('Europe/Rome'))
    .addColumn('default_country', 'text', (c) => c.notNull().defaultTo('IT'))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('fields')
    .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('field_id', 'integer', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('default_value', 'text')
    .addPrimaryKeyConstraint('fields_pk', ['account_id', 'field_id'])
    .addCheckConstraint('fields_id_range', sql`field_id between 1 and 39`)
    .execute();

  await db.schema
    .createTable('lists')
    .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('list_id', 'integer', (c) => c.notNull())
    .addColumn('guid', 'text', (c) => c.notNull().unique())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('mobile_prefix', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('lists_pk', ['account_id', 'list_id'])
    .execute();

  await id(db.schema.createTable('groups'))
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('list_id', 'integer', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('is_test', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addForeignKeyConstraint(
      'groups_list_fk',
      ['account_id', 'list_id'],
      'lists',
      ['account_id', 'list_id'],
      (f) => f.onDelete('cascade'),
    )
    .addUniqueConstraint('groups_name_uq', ['account_id', 'list_id', 'name'])
    .execute();

  let recipients = id(db.schema.createTable('recipients'))
    .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('email', 'text')
    .addColumn('mobile', 'text');
  for (let f = 1; f <= 39; f++) recipients = recipients.addColumn(`f${f}`, 'text');
  await recipients
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addColumn('erased_at', 'text')
    .addUniqueConstraint('recipients_email_uq', ['account_id', 'email'])
    .addUniqueConstraint('recipients_mobile_uq', ['account_id', 'mobile'])
    .execute();

  await db.schema
    .createTable('subscriptions')
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('recipient_id', 'integer', (c) => c.notNull().references('recipients.id').onDelete('cascade'))
    .addColumn('list_id', 'integer', (c) => c.notNull())
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('subscribed_at', 'text')
    .addColumn('unsubscribed_at', 'text')
    .addColumn('optout_type', 'text')
    .addColumn('optout_message_id', 'integer')
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('subscriptions_pk', ['recipient_id', 'list_id', 'channel'])
    .addForeignKeyConstraint(
      'subscriptions_list_fk',
      ['account_id', 'list_id'],
      'lists',
      ['account_id', 'list_id'],
      (f) => f.onDelete('cascade'),
    )
    .addCheckConstraint('subscriptions_channel_ck', sql`channel in ('email', 'sms')`)
    .addCheckConstraint('subscriptions_status_ck', sql`status in ('subscribed', 'unsubscribed', 'pending')`)
    .execute();
  // Exports scan one list's subscriptions by status and change time.
  await db.schema
    .createIndex('subscriptions_list_status_ix')
    .on('subscriptions')
    .columns(['account_id', 'list_id', 'channel', 'status', 'updated_at'])
    .execute();

  await db.schema
    .createTable('group_members')
    .addColumn('group_id', 'integer', (c) => c.notNull().references('groups.id').onDelete('cascade'))
    .addColumn('recipient_id', 'integer', (c) => c.notNull().references('recipients.id').onDelete('cascade'))
    .addColumn('added_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('group_members_pk', ['group_id', 'recipient_id'])
    .execute();
  await db.schema
    .createIndex('group_members_recipient_ix')
    .on('group_members')
    .column('recipient_id')
    .execute();

  await id(db.schema.createTable('messages'))
    .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('message_number', 'integer', (c) => c.notNull())
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('list_id', 'integer')
    .addColumn('subject', 'text')
    .addColumn('html', 'text')
    .addColumn('text', 'text')
    .addColumn('sender_email', 'text')
    .addColumn('sender_name', 'text')
    .addColumn('reply_to', 'text')
    .addColumn('attachments_json', 'text')
    .addColumn('campaign_code', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('messages_number_uq', ['account_id', 'channel', 'message_number'])
    .execute();

  await id(db.schema.createTable('sendings'))
    .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('sending_number', 'integer', (c) => c.notNull())
    .addColumn('message_id', 'integer', (c) => c.notNull().references('messages.id').onDelete('cascade'))
    .addColumn('list_id', 'integer')
    .addColumn('group_id', 'integer')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('scheduled_at', 'text')
    .addColumn('started_at', 'text')
    .addColumn('ended_at', 'text')
    .addColumn('counters_json', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('sendings_number_uq', ['account_id', 'sending_number'])
    .execute();

  await id(db.schema.createTable('events'))
    .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('channel', 'text', (c) => c.notNull())
    .addColumn('recipient_id', 'integer')
    .addColumn('list_id', 'integer')
    .addColumn('message_id', 'integer')
    .addColumn('sending_id', 'integer')
    .addColumn('url', 'text')
    .addColumn('code', 'text')
    .addColumn('detail', 'text')
    .addColumn('provider_message_id', 'text')
    .addColumn('ip', 'text')
    .addColumn('user_agent', 'text')
    .addColumn('idempotency_key', 'text')
    .addColumn('occurred_at', 'text', (c) => c.notNull())
    .addColumn('recorded_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('events_idempotency_uq', ['account_id', 'idempotency_key'])
    .execute();
  // Exports read events of one account by kind in a recorded_at window (watermarks move on recorded_at).
  await db.schema
    .createIndex('events_window_ix')
    .on('events')
    .columns(['account_id', 'kind', 'recorded_at'])
    .execute();
  await db.schema.createIndex('events_provider_ix').on('events').column('provider_message_id').execute();

  await id(db.schema.createTable('sftp_users'))
    .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('username', 'text', (c) => c.notNull().unique())
    .addColumn('password_hash', 'text')
    .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();

  await id(db.schema.createTable('sftp_keys'))
    .addColumn('user_id', 'integer', (c) => c.notNull().references('sftp_users.id').onDelete('cascade'))
    .addColumn('algo', 'text', (c) => c.notNull())
    .addColumn('key_base64', 'text', (c) => c.notNull())
    .addColumn('comment', 'text')
    .addColumn('fingerprint', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addUniqueConstraint('sftp_keys_fp_uq', ['user_id', 'fingerprint'])
    .execute();

  await db.schema
    .createTable('instances')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('definition_json', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema
    .createTable('jobs')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('instance_id', 'text')
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('trigger', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('input_name', 'text')
    .addColumn('input_path', 'text')
    .addColumn('input_sha256', 'text')
    .addColumn('input_size', 'bigint')
    .addColumn('counters_json', 'text')
    .addColumn('checkpoint_json', 'text')
    .addColumn('error_code', 'text')
    .addColumn('error_message', 'text')
    .addColumn('result_json', 'text')
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('run_after', 'text')
    .addColumn('lease_owner', 'text')
    .addColumn('lease_until', 'text')
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('started_at', 'text')
    .addColumn('ended_at', 'text')
    .execute();
  await db.schema.createIndex('jobs_account_ix').on('jobs').columns(['account_id', 'created_at']).execute();
  await db.schema.createIndex('jobs_status_ix').on('jobs').columns(['status', 'run_after']).execute();
  await db.schema.createIndex('jobs_instance_ix').on('jobs').columns(['instance_id', 'created_at']).execute();

  await db.schema
    .createTable('processed_files')
    .addColumn('instance_id', 'text', (c) => c.notNull())
    .addColumn('sha256', 'text', (c) => c.notNull())
    .addColumn('account_id', 'text', (c) => c.notNull())
    .addColumn('job_id', 'text', (c) => c.notNull())
    .addColumn('processed_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('processed_files_pk', ['instance_id', 'sha256'])
    .execute();

  await db.schema
    .createTable('export_watermarks')
    .addColumn('instance_id', 'text', (c) => c.primaryKey())
    .addColumn('watermark', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();

  await id(db.schema.createTable('api_tokens'))
    .addColumn('account_id', 'text', (c) => c.references('accounts.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('last_used_at', 'text')
    .execute();

  await db.schema
    .createTable('settings')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .execute();
}

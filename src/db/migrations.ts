import { type Kysely, type Migration, type MigrationProvider, sql } from 'kysely';

// One set of migrations for SQLite and PostgreSQL: only portable column types (text, integer,
// bigint) and features both share (partial unique indexes, ON CONFLICT). Never edit a shipped
// migration; add the next one.

// biome-ignore lint/suspicious/noExplicitAny: migrations must not depend on the current schema types
type AnyDb = Kysely<any>;

const init: Migration = {
  async up(db: AnyDb) {
    await db.schema
      .createTable('accounts')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('created', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('access_keys')
      .addColumn('access_key_id', 'text', (c) => c.primaryKey())
      .addColumn('access_key_secret', 'text', (c) => c.notNull())
      .addColumn('account', 'text', (c) => c.notNull().references('accounts.name'))
      .addColumn('created', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('nonces')
      .addColumn('nonce', 'text', (c) => c.primaryKey())
      .addColumn('expires_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('nonces_expires').on('nonces').column('expires_at').execute();

    await db.schema
      .createTable('instances')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('account', 'text', (c) => c.notNull().references('accounts.name'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('adb_address', 'text', (c) => c.notNull())
      .addColumn('image_id', 'text', (c) => c.notNull())
      .addColumn('image_version', 'text', (c) => c.notNull())
      .addColumn('image_type', 'text', (c) => c.notNull())
      .addColumn('instance_type', 'text', (c) => c.notNull())
      .addColumn('android_version', 'text', (c) => c.notNull())
      .addColumn('sdk', 'integer', (c) => c.notNull())
      .addColumn('abi', 'text', (c) => c.notNull())
      .addColumn('fingerprint', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('error_code', 'text')
      .addColumn('rate', 'integer', (c) => c.notNull())
      .addColumn('created', 'text', (c) => c.notNull())
      .addColumn('modified', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('instances_account_created').on('instances').columns(['account', 'created']).execute();

    await db.schema
      .createTable('backup_files')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('account', 'text', (c) => c.notNull().references('accounts.name'))
      .addColumn('instance_id', 'text', (c) => c.notNull())
      .addColumn('instance_name', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('description', 'text', (c) => c.notNull())
      .addColumn('path', 'text', (c) => c.notNull())
      .addColumn('endpoint', 'text', (c) => c.notNull())
      .addColumn('bucket', 'text', (c) => c.notNull())
      .addColumn('object_key', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('size', 'bigint', (c) => c.notNull())
      .addColumn('sha256', 'text')
      .addColumn('apps', 'text', (c) => c.notNull())
      .addColumn('manifest', 'text')
      .addColumn('task_id', 'text')
      .addColumn('created', 'text', (c) => c.notNull())
      .addColumn('modified', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('backup_files_account_created')
      .on('backup_files')
      .columns(['account', 'created'])
      .execute();

    await db.schema
      .createTable('tasks')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('account', 'text', (c) => c.notNull().references('accounts.name'))
      .addColumn('parent_id', 'text', (c) => c.references('tasks.id'))
      .addColumn('level', 'integer', (c) => c.notNull())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('invoke_id', 'text', (c) => c.notNull())
      .addColumn('resource_id', 'text')
      .addColumn('instance_id', 'text')
      .addColumn('instance_name', 'text')
      .addColumn('param', 'text', (c) => c.notNull())
      .addColumn('result', 'text')
      .addColumn('error_code', 'text')
      .addColumn('error_msg', 'text')
      .addColumn('bytes_done', 'bigint', (c) => c.notNull())
      .addColumn('bytes_total', 'bigint', (c) => c.notNull())
      .addColumn('child_total', 'integer', (c) => c.notNull())
      .addColumn('child_success', 'integer', (c) => c.notNull())
      .addColumn('child_failed', 'integer', (c) => c.notNull())
      .addColumn('child_running', 'integer', (c) => c.notNull())
      .addColumn('start_time', 'text')
      .addColumn('finish_time', 'text')
      .addColumn('attempts', 'integer', (c) => c.notNull())
      .addColumn('lease_owner', 'text')
      .addColumn('lease_expires', 'text')
      .addColumn('created', 'text', (c) => c.notNull())
      .addColumn('modified', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('tasks_account_created').on('tasks').columns(['account', 'created']).execute();
    await db.schema.createIndex('tasks_parent').on('tasks').column('parent_id').execute();
    await db.schema.createIndex('tasks_status_created').on('tasks').columns(['status', 'created']).execute();
    // The database itself guarantees at most one running task per phone, whichever runner claims it.
    await db.schema
      .createIndex('tasks_one_processing_per_instance')
      .on('tasks')
      .column('instance_id')
      .unique()
      .where(sql.ref('status'), '=', 'Processing')
      .execute();
  },
};

/** a task retried after a transient fault waits until not_before (capped exponential backoff) */
const retryBackoff: Migration = {
  async up(db: AnyDb) {
    await db.schema.alterTable('tasks').addColumn('not_before', 'text').execute();
  },
};

/**
 * CancelTasks marks a running task (its runner aborts it); the suspensions the service made on
 * phones are recorded so whoever ends a task, or the next one on that phone, can lift them
 */
const cancelAndSuspensions: Migration = {
  async up(db: AnyDb) {
    await db.schema.alterTable('tasks').addColumn('cancel_requested', 'text').execute();
    await db.schema
      .createTable('suspensions')
      .addColumn('instance_id', 'text', (c) => c.notNull())
      .addColumn('package', 'text', (c) => c.notNull())
      .addColumn('task_id', 'text', (c) => c.notNull())
      .addColumn('created', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('suspensions_pk', ['instance_id', 'package'])
      .execute();
  },
};

/**
 * ClientToken records (src/db/client-tokens-repo.ts): the primary key lets one call per
 * (account, action, token) create work; `created` drives the 24-hour purge
 */
const clientTokens: Migration = {
  async up(db: AnyDb) {
    await db.schema
      .createTable('client_tokens')
      .addColumn('account', 'text', (c) => c.notNull().references('accounts.name'))
      .addColumn('action', 'text', (c) => c.notNull())
      .addColumn('token', 'text', (c) => c.notNull())
      .addColumn('params_sha256', 'text', (c) => c.notNull())
      .addColumn('response', 'text', (c) => c.notNull())
      .addColumn('request_id', 'text', (c) => c.notNull())
      .addColumn('created', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('client_tokens_pk', ['account', 'action', 'token'])
      .execute();
    await db.schema.createIndex('client_tokens_created').on('client_tokens').column('created').execute();
  },
};

/**
 * What instances carry besides their image: the group and end user Alibaba assigns them (set by
 * `instances add --group … --end-user …`) and what the phone last reported about its hardware
 * (read when it is added and at each task's start); backup files keep their source's group and
 * end user, so DescribeBackupFiles filters them as they were when the backup was made
 */
const instanceFacts: Migration = {
  async up(db: AnyDb) {
    for (const column of ['instance_group_id', 'end_user_id', 'network_ip'])
      await db.schema.alterTable('instances').addColumn(column, 'text').execute();
    for (const column of ['cpu_count', 'memory_mb', 'display_width', 'display_height', 'display_dpi'])
      await db.schema.alterTable('instances').addColumn(column, 'integer').execute();
    await db.schema.alterTable('backup_files').addColumn('instance_group_id', 'text').execute();
    await db.schema.alterTable('backup_files').addColumn('end_user_id', 'text').execute();
  },
};

/** BackupFile's source paths, for DescribeBackupFiles' SourceFilePathList (earlier files backed up apps only) */
const fileBackups: Migration = {
  async up(db: AnyDb) {
    await db.schema
      .alterTable('backup_files')
      .addColumn('source_paths', 'text', (c) => c.notNull().defaultTo('[]'))
      .execute();
  },
};

/** BackupAndroidInstance's files are whole-instance backups (DescribeBackupFiles' BackupAll) */
const instanceBackups: Migration = {
  async up(db: AnyDb) {
    await db.schema
      .alterTable('backup_files')
      .addColumn('backup_all', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
  },
};

/**
 * DescribeTasks' filters besides TaskIds and ParentTaskId (which have the primary key and
 * tasks_parent): Level (the console lists Level 1, its batches) and InstanceId (one phone's
 * history), each counted for TotalCount and paged newest first. With only (account, created)
 * both read every task of the account: 52 ms and 22 ms a call on PostgreSQL at 100,000 tasks,
 * seconds a call under load on SQLite (bench/describe-tasks.ts).
 */
const taskListIndexes: Migration = {
  async up(db: AnyDb) {
    await db.schema
      .createIndex('tasks_account_level_created')
      .on('tasks')
      .columns(['account', 'level', 'created'])
      .execute();
    await db.schema
      .createIndex('tasks_account_instance_created')
      .on('tasks')
      .columns(['account', 'instance_id', 'created'])
      .execute();
  },
};

/**
 * A batch's BytesDone/BytesTotal are its children's sums (tasks-repo.ts childBytes), two
 * correlated sums per listed batch. With the byte columns in the parent index they are read from
 * the index alone, not from each child's row: the console's page of 20 batches went from 0.31
 * to 0.13 ms on SQLite at 100,000 tasks (sqlite3 .timer). It replaces tasks_parent, whose lookups
 * (a batch's children, the parent joins) it serves as well. The price: a progress write now
 * changes an indexed column, so on PostgreSQL it is no longer a heap-only (HOT) update; a running
 * task writes its progress at most every 300 ms (embedded-runner.ts), so that stays small.
 */
const childBytesIndex: Migration = {
  async up(db: AnyDb) {
    await db.schema
      .createIndex('tasks_parent_bytes')
      .on('tasks')
      .columns(['parent_id', 'bytes_done', 'bytes_total'])
      .execute();
    await db.schema.dropIndex('tasks_parent').execute();
  },
};

export const migrations: MigrationProvider = {
  getMigrations: async () => ({
    '0001_init': init,
    '0002_retry_backoff': retryBackoff,
    '0003_cancel_and_suspensions': cancelAndSuspensions,
    '0004_instance_facts': instanceFacts,
    '0005_file_backups': fileBackups,
    '0006_client_tokens': clientTokens,
    '0007_instance_backups': instanceBackups,
    '0010_task_list_indexes': taskListIndexes,
    '0011_child_bytes_index': childBytesIndex,
  }),
};

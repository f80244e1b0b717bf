import type { Db } from '../db/database.ts';
import type { ObjectStore } from '../storage/object-store.ts';

/** What the API actions need from the rest of the service. */
export interface ServiceDeps {
  db: Db;
  storeFor: (endpoint: string) => ObjectStore;
  /** wakes the task runner after tasks were created */
  notifyTasks: () => void;
}

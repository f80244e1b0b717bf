// Ports the API edge authenticates through; the database implements them, tests and
// single-process runs can use MemoryNonceStore.

export interface CredentialLookup {
  find(accessKeyId: string): Promise<{ secret: string; account: string } | null>;
}

export interface NonceStore {
  /** Records a nonce until `expiresAt`; false if it is already recorded (a replay). */
  remember(nonce: string, expiresAt: Date): Promise<boolean>;
}

/** Who a verified request is from. */
export interface Principal {
  accessKeyId: string;
  account: string;
}

import type { Instance } from '../db/instances-repo.ts';
import type { Device, DeviceProperties } from '../devices/device.ts';
import { ERRORS } from '../errors.ts';
import type { InstanceFacts } from './archive/manifest.ts';

/**
 * What a backup records about its instance: the registered image facts plus what the device
 * reports now. Refuses a phone whose user 0 has not unlocked since boot: its CE storage then holds
 * encrypted names and unreadable files, so a backup would be garbage and a restore would fail.
 */
export async function readInstanceFacts(instance: Instance, device: Device): Promise<InstanceFacts> {
  return instanceFacts(instance, await device.properties());
}

/** the same, from properties the caller already read (withDevice reads them once per task) */
export function instanceFacts(instance: Instance, props: DeviceProperties): InstanceFacts {
  if (!props.ceAvailable) throw ERRORS.userStorageLocked(instance.id);
  return {
    id: instance.id,
    name: instance.name,
    imageId: instance.imageId,
    imageVersion: instance.imageVersion,
    imageType: instance.imageType,
    instanceType: instance.instanceType,
    abi: props.abi,
    sdk: props.sdk,
    androidVersion: props.androidVersion,
    fingerprint: props.fingerprint,
  };
}

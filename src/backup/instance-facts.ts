import type { Instance } from '../db/instances-repo.ts';
import type { DeviceProperties } from '../devices/device.ts';
import type { InstanceFacts } from './archive/manifest.ts';

/** What a backup records about its instance: the registered image facts plus what the device reports now. */
export function instanceFacts(instance: Instance, props: DeviceProperties): InstanceFacts {
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

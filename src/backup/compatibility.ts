import { ERRORS } from '../errors.ts';
import type { InstanceFacts } from './archive/manifest.ts';

// What makes a backup unsafe to restore onto a target, checked before the target is touched.
// The service refuses restores across image ids and versions, public and custom images,
// instance families and CPU ABIs; Android refuses data from a newer platform.

const family = (instanceType: string) => instanceType.split('.').slice(0, 2).join('.');

export function checkCompatibility(backup: InstanceFacts, target: InstanceFacts): void {
  const from = `the backup of ${backup.id}`;
  const to = `target ${target.id}`;
  const rules: [boolean, string, string][] = [
    [
      backup.imageId !== target.imageId,
      'ImageIdMismatch',
      `${from} was made on image ${backup.imageId}, ${to} runs image ${target.imageId}`,
    ],
    [
      backup.imageVersion !== target.imageVersion,
      'ImageVersionMismatch',
      `${from} was made on image version ${backup.imageVersion}, ${to} runs version ${target.imageVersion}`,
    ],
    [
      backup.imageType !== target.imageType,
      'ImageTypeMismatch',
      `${from} was made on a ${backup.imageType} image, ${to} runs a ${target.imageType} image`,
    ],
    [
      family(backup.instanceType) !== family(target.instanceType),
      'InstanceFamilyMismatch',
      `${from} was made on instance family ${family(backup.instanceType)} (${backup.instanceType}), ${to} is ${family(target.instanceType)} (${target.instanceType})`,
    ],
    [backup.abi !== target.abi, 'AbiMismatch', `${from} was made on ABI ${backup.abi}, ${to} is ${target.abi}`],
    [
      backup.sdk > target.sdk,
      'AndroidVersionDowngrade',
      `${from} was made on Android SDK ${backup.sdk} (Android ${backup.androidVersion}), ${to} runs the older SDK ${target.sdk} (Android ${target.androidVersion})`,
    ],
  ];
  for (const [differs, code, message] of rules) {
    if (differs) throw ERRORS.incompatible(code, `Cannot restore: ${message}.`);
  }
}

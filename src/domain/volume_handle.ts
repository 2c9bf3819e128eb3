/**
 * The LINSTOR CSI volume handle (`<rd>` or `<rd>/<volNr>`) and the LINSTOR
 * resource definition name linstor-csi gives a claim's volume.
 *
 * @module
 */
import type { V1PersistentVolumeClaim } from "@kubernetes/client-node";
import {
  CSI_VOLUME_NAME_PREFIX,
  CSI_VOLUME_NUMBER_LIMIT,
} from "../constants.ts";

/** A parsed LINSTOR CSI volume handle. */
export interface VolumeHandle {
  /** LINSTOR resource definition name. */
  readonly resource: string;
  /** Volume number inside the resource definition (0 without `/volNr`). */
  readonly volume: number;
}

/** What Go's `strconv.Atoi` reads as a decimal integer: optional sign, ASCII digits. */
const ATOI = /^[+-]?[0-9]+$/;

/**
 * Parses a LINSTOR CSI volume handle exactly as linstor-csi's
 * `ParseVolumeId` does, so every mode maps a PV to the resource definition
 * the driver serves:
 *
 * - the resource definition is everything before the first `/` and must not
 *   be empty (it is not otherwise checked: `"pvc 1"` is accepted, and simply
 *   matches no LINSTOR resource);
 * - without a `/` the volume number is 0;
 * - after the first `/` comes a decimal integer as Go's `strconv.Atoi`
 *   reads it (optional sign, ASCII digits, leading zeros allowed:
 *   `"pvc-1/007"` is volume 7) in [0, 65536).
 *
 * @throws {SyntaxError} when the handle is empty, has an empty resource name
 * or a volume number that is not a decimal integer.
 * @throws {RangeError} when the volume number is outside [0, 65536).
 */
export function parseVolumeHandle(handle: string): VolumeHandle {
  if (typeof handle !== "string" || handle === "") {
    throw new SyntaxError(
      `Cannot parse volume handle "${String(handle)}": it is empty`,
    );
  }
  const slash = handle.indexOf("/");
  const resource = slash < 0 ? handle : handle.slice(0, slash);
  if (resource === "") {
    throw new SyntaxError(
      `Cannot parse volume handle "${handle}": the resource name is empty`,
    );
  }
  if (slash < 0) return Object.freeze({ resource, volume: 0 });
  const text = handle.slice(slash + 1);
  if (!ATOI.test(text)) {
    throw new SyntaxError(
      `Cannot parse volume handle "${handle}": the volume number "${text}" is not a decimal integer`,
    );
  }
  // `-0` reads as 0, as for Atoi (`+ 0` turns JavaScript's -0 into 0).
  const volume = Number(text) + 0;
  if (!(volume >= 0 && volume < CSI_VOLUME_NUMBER_LIMIT)) {
    throw new RangeError(
      `Cannot parse volume handle "${handle}": the volume number ${text} is not in [0, ${CSI_VOLUME_NUMBER_LIMIT})`,
    );
  }
  return Object.freeze({ resource, volume });
}

/**
 * The canonical text of a volume handle, as linstor-csi writes it (`<rd>` for
 * volume 0, else `<rd>/<volNr>`): two handles that name the same volume
 * format the same (`"pvc-1/007"` and `"pvc-1/7"` both give `"pvc-1/7"`).
 */
export function formatVolumeHandle(handle: VolumeHandle): string {
  return handle.volume === 0
    ? handle.resource
    : `${handle.resource}/${handle.volume}`;
}

/** Like `parseVolumeHandle()`, but `undefined` instead of an error. */
export function tryParseVolumeHandle(
  handle: string | undefined,
): VolumeHandle | undefined {
  if (handle === undefined) return undefined;
  try {
    return parseVolumeHandle(handle);
  } catch {
    return undefined;
  }
}

/**
 * The LINSTOR resource definition linstor-csi creates for a dynamically
 * provisioned claim: `pvc-<PVC UID>` (external-provisioner's volume name,
 * always a valid LINSTOR name because a UID is a UUID); `undefined` while the
 * claim has no UID. StorageClasses with `usePvcName` and pre-provisioned PVs
 * name their resource differently: read the PV's volume handle for a bound
 * claim.
 */
export function claimResourceName(
  pvc: V1PersistentVolumeClaim | undefined,
): string | undefined {
  const uid = pvc?.metadata?.uid;
  return uid === undefined || uid === ""
    ? undefined
    : `${CSI_VOLUME_NAME_PREFIX}-${uid}`;
}

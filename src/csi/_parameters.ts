/**
 * linstor-csi StorageClass parameter lookup: keys are written bare or under
 * the `linstor.csi.linbit.com/` namespace and compared case-insensitively.
 *
 * @module
 */
import { CSI_PARAMETER_NAMESPACE } from "../constants.ts";

/** A parameter found by `csiParameterEntry()`: its raw key and value. */
export interface CsiParameter {
  /** The key as written in the StorageClass. */
  readonly key: string;
  readonly value: string;
}

/**
 * Finds linstor-csi parameter `name` (compared lower-cased) written bare or
 * as `linstor.csi.linbit.com/<name>`. The namespaced form wins over the
 * bare one, the last by sorted key wins among spellings of the same form, and
 * keys of other namespaces are ignored.
 */
export function csiParameterEntry(
  parameters: Readonly<Record<string, string>> | undefined,
  name: string,
): CsiParameter | undefined {
  if (parameters === undefined) return undefined;
  const wanted = name.toLowerCase();
  let bare: CsiParameter | undefined;
  let namespaced: CsiParameter | undefined;
  for (const key of Object.keys(parameters).sort()) {
    const slash = key.indexOf("/");
    const namespace = slash < 0 ? "" : key.slice(0, slash);
    const raw = slash < 0 ? key : key.slice(slash + 1);
    if (raw.toLowerCase() !== wanted) continue;
    if (namespace === CSI_PARAMETER_NAMESPACE) {
      namespaced = { key, value: parameters[key]! };
    } else if (namespace === "") {
      bare = { key, value: parameters[key]! };
    }
  }
  return namespaced ?? bare;
}

/** The value of linstor-csi parameter `name` (see `csiParameterEntry()`). */
export function csiParameter(
  parameters: Readonly<Record<string, string>> | undefined,
  name: string,
): string | undefined {
  return csiParameterEntry(parameters, name)?.value;
}

/**
 * Basic auth of the simulator, as the controller's REST layer checks it
 * with LDAP on (`RequestHelper`, `ApiCallRcRestUtils`).
 *
 * @module
 */
import { LINSTOR_AUTH_REALM } from "../constants.ts";
import { CODE, jsonResponse, type RcInit } from "./_rc.ts";
import { constantTimeEqual } from "./_request.ts";
import type { Store } from "./_store.ts";
import { replyWith } from "./_http.ts";

/** The configured credentials. */
export interface Credentials {
  readonly username: string;
  readonly password: string;
}

/**
 * `undefined` when `request` carries `credentials`, else the answer: no
 * header → 401 with the Basic challenge; another scheme or `Basic`
 * without a token → 500 (`FAIL_INVLD_ENCRYPT_TYPE`); wrong credentials →
 * 403 (`FAIL_SIGN_IN`). The codes carry no object or operation bits.
 */
export function checkBasicAuth(
  request: Request,
  options: { credentials: Credentials; store: Store },
): Response | undefined {
  const { credentials, store } = options;
  const fail = (entry: RcInit) => replyWith(store, [entry], { success: 200 });
  const header = request.headers.get("authorization");
  if (header === null) {
    return jsonResponse(
      store.entries([{
        severity: "error",
        code: CODE.signInMissingCredentials,
        message: "Login required but no 'Authorization' header given.",
      }]),
      {
        status: 401,
        headers: { "www-authenticate": `Basic realm="${LINSTOR_AUTH_REALM}"` },
      },
    );
  }
  const [scheme = "", token] = splitOnce(header, " ");
  if (scheme !== "Basic" || token === undefined) {
    return fail({
      severity: "error",
      code: CODE.invalidEncryptType,
      message: scheme === "Basic"
        ? "Basic authentication doesn't contain credential token."
        : "Invalid Authorization method, only 'Basic' supported.",
    });
  }
  let given = "";
  try {
    given = atob(token.trim());
  } catch {
    given = "";
  }
  const [user = "", secret] = splitOnce(given, ":");
  const ok = secret !== undefined &&
    constantTimeEqual(user, credentials.username) &&
    constantTimeEqual(secret, credentials.password);
  if (ok) return undefined;
  return fail({
    severity: "error",
    code: CODE.signIn,
    message: "Sign-in failed",
    cause:
      "The credentials for the sign-in are not valid or LDAP access not correctly configured.",
    correction:
      "The name of a valid identity and a matching password must be provided to sign in to the system or LDAP access correctly configured.",
  });
}

/** `text` split at the first `separator`; the second part is absent without one. */
function splitOnce(
  text: string,
  separator: string,
): [string, string] | [string] {
  const at = text.indexOf(separator);
  return at < 0 ? [text] : [text.slice(0, at), text.slice(at + 1)];
}

/**
 * Usage and flags of `extender` (the kube-scheduler extender), as data:
 * usage texts and the chart's values schema read them without loading the
 * mode (`extender.ts`, imported when it runs).
 *
 * @module
 */
import { EXTENDER_DEFAULT_LISTEN } from "../constants.ts";
import type { CommandInfo } from "./command.ts";
import { commonFlagsWithHealthAliases } from "./common_flags.ts";
import type { FlagSpec } from "./flags.ts";

/** Flags of `extender`. */
export const EXTENDER_FLAGS: readonly FlagSpec[] = [
  ...commonFlagsWithHealthAliases("health-probe-bind-address"),
  {
    name: "metrics-address",
    type: "string",
    aliases: ["metrics-bind-address"],
    description:
      "Also serve /metrics here (kubebuilder-style --metrics-bind-address); /metrics is always on --health-address",
    valueName: "HOST:PORT",
  },
  {
    name: "listen",
    aliases: ["listen-address"],
    type: "string",
    description: "Serve the extender verbs on this address",
    env: "LINSTOR_SUITE_EXTENDER_LISTEN",
    default: EXTENDER_DEFAULT_LISTEN,
    valueName: "HOST:PORT",
  },
  {
    name: "tls-cert",
    aliases: ["tls-cert-file"],
    type: "string",
    description: "PEM certificate chain: serve HTTPS (with --tls-key)",
    env: "LINSTOR_SUITE_EXTENDER_TLS_CERT",
    valueName: "FILE",
  },
  {
    name: "tls-key",
    aliases: ["tls-key-file"],
    type: "string",
    description: "PEM private key of --tls-cert",
    env: "LINSTOR_SUITE_EXTENDER_TLS_KEY",
    valueName: "FILE",
  },
  {
    name: "tls-cert-dir",
    type: "string",
    description:
      "Serve HTTPS with DIR/tls.crt and DIR/tls.key when both exist, else HTTP (Deckhouse's extender); --tls-cert and --tls-key win",
    valueName: "DIR",
  },
  {
    name: "config",
    type: "string",
    description:
      "YAML config file (predicates, divisors, locality levels…); flags override it",
    env: "LINSTOR_SUITE_EXTENDER_CONFIG",
    valueName: "FILE",
  },
  {
    name: "max-staleness",
    type: "duration",
    description: "Fail open when LINSTOR was not polled successfully this long",
    env: "LINSTOR_SUITE_MAX_STALENESS",
  },
  {
    name: "reservation-ttl",
    type: "duration",
    description: "Lifetime of a capacity reservation",
    env: "LINSTOR_SUITE_RESERVATION_TTL",
  },
  {
    name: "deadline",
    type: "duration",
    description:
      "Internal answer deadline (keep it under kube-scheduler's httpTimeout)",
  },
  {
    name: "prefix",
    type: "string",
    description: "Path prefix of the verbs (urlPrefix path)",
  },
  {
    name: "filter-verb",
    type: "string",
    description: "filterVerb of the scheduler config",
  },
  {
    name: "prioritize-verb",
    type: "string",
    description: "prioritizeVerb of the scheduler config",
  },
  {
    name: "property-namespace",
    type: "string",
    description:
      "LINSTOR node property namespace of topology (Aux/topology, Aux); default: detect",
    env: "LINSTOR_SUITE_PROPERTY_NAMESPACE",
  },
  {
    name: "max-request-body",
    type: "string",
    description:
      "Largest filter/prioritize request body answered (a quantity: 10Mi; larger gets 413); raise it for full Node objects (nodeCacheCapable: false) in clusters over about 1,000 nodes",
    valueName: "QUANTITY",
  },
  {
    name: "default-remote-access-policy",
    type: "string",
    description:
      "linstor-csi's --default-remote-access-policy, when it was changed there",
    valueName: "POLICY",
  },
];

/** Name, usage and flags of `extender`. */
export const EXTENDER_COMMAND_INFO: CommandInfo = {
  name: "extender",
  summary:
    "kube-scheduler extender: place pods where their LINSTOR data is and their new volumes fit",
  arguments: "[explain NAMESPACE/POD]",
  description:
    "Serves POST <prefix>/filter and <prefix>/prioritize for kube-scheduler from an in-memory " +
    "view of LINSTOR and Kubernetes (no backend call per request), plus /healthz, /readyz and " +
    "/metrics. `extender explain NAMESPACE/POD` asks the running extender (at --listen) and " +
    "prints, for every node, the verdict, score and its live reservations. See docs/extender.md.",
  flags: EXTENDER_FLAGS,
};

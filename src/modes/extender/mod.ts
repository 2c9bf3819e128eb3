/**
 * The `extender` mode: a kube-scheduler extender serving filter and
 * prioritize from the shared state model, with capacity reservations and an
 * explain view.
 *
 * @module
 */
export {
  createExtenderHandler,
  type ExtenderHandlerOptions,
} from "./_handler.ts";
export {
  type CapacityHardFilter,
  DEFAULT_EXTENDER_CONFIG,
  type ExtenderConfig,
  type LocalityLevel,
  normalizePrefix,
  parseExtenderConfig,
  PREDICATE_NAMES,
  type PredicateName,
} from "./_config.ts";
export {
  type Reservation,
  Reservations,
  type ReservationsOptions,
  type ReservationView,
} from "./_reservations.ts";
export {
  filterReservations,
  prioritizeNarrowing,
  type ReservationChange,
  reviewReservations,
} from "./_reservation_policy.ts";
export { createExtenderMetrics, type ExtenderMetrics } from "./_metrics.ts";
export { EXTENDER_FIELDS } from "./_fields.ts";
export {
  EXTENDER_KINDS,
  filterNodes,
  type FilterOutcome,
  scoreNodes,
  type ScoreOutcome,
  staleReason,
} from "./_core.ts";
export { IndexCache, SnapshotIndex } from "./_index.ts";
export {
  explainPod,
  type ExplainRow,
  type Explanation,
  formatExplanation,
} from "./_explain.ts";
export {
  type ExtenderArgs,
  type ExtenderFilterResult,
  filterResultJson,
  type HostPriority,
  LastNodesAnswer,
  parseExtenderArgs,
} from "./_wire.ts";
export {
  NodeItems,
  type NodeItemsOptions,
  parseKubeSchedulerLayout,
} from "./_node_items.ts";
export { capacityToScore } from "./_capacity.ts";
export {
  type LabelSelector,
  matchesSelector,
  parseLabelSelector,
} from "./_selector.ts";
export {
  type ExtenderDeps,
  type ExtenderOptions,
  type RunningExtender,
  startExtender,
} from "./_server.ts";

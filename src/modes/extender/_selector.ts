/**
 * Kubernetes label-selector strings (`a=b,c!=d,e in (x,y),!f,g`), as
 * `kubectl -l` and `labels.Parse` accept them.
 *
 * @module
 */

/** One requirement of a selector. */
export interface Requirement {
  readonly key: string;
  readonly operator: "in" | "notin" | "exists" | "!";
  readonly values: readonly string[];
}

/** A parsed selector; an empty one matches everything. */
export type LabelSelector = readonly Requirement[];

const KEY =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$/;

function checkKey(key: string, text: string): string {
  if (!KEY.test(key) || key.length > 316) {
    throw new SyntaxError(
      `Cannot parse label selector "${text}": invalid key "${key}"`,
    );
  }
  return key;
}

function checkValue(value: string, text: string): string {
  if (!VALUE.test(value) || value.length > 63) {
    throw new SyntaxError(
      `Cannot parse label selector "${text}": invalid value "${value}"`,
    );
  }
  return value;
}

/** Splits on commas outside parentheses. */
function splitTerms(text: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "(") depth++;
    else if (c === ")") depth--;
    else if (c === "," && depth === 0) {
      terms.push(text.slice(start, i));
      start = i + 1;
    }
    if (depth < 0 || depth > 1) {
      throw new SyntaxError(
        `Cannot parse label selector "${text}": unbalanced parentheses`,
      );
    }
  }
  if (depth !== 0) {
    throw new SyntaxError(
      `Cannot parse label selector "${text}": unbalanced parentheses`,
    );
  }
  terms.push(text.slice(start));
  return terms;
}

/** Parses a label-selector string; throws `SyntaxError` with the reason. */
export function parseLabelSelector(text: string): LabelSelector {
  if (text.trim() === "") return [];
  const requirements: Requirement[] = [];
  for (const rawTerm of splitTerms(text)) {
    const term = rawTerm.trim();
    if (term === "") {
      throw new SyntaxError(
        `Cannot parse label selector "${text}": empty requirement`,
      );
    }
    const set = /^(\S+)\s+(in|notin)\s*\(([^()]*)\)$/.exec(term);
    if (set) {
      if ((set[3] ?? "").trim() === "") {
        throw new SyntaxError(
          `Cannot parse label selector "${text}": empty value set`,
        );
      }
      const values = (set[3] ?? "").split(",").map((v) =>
        checkValue(v.trim(), text)
      );
      requirements.push({
        key: checkKey(set[1] ?? "", text),
        operator: set[2] as "in" | "notin",
        values,
      });
      continue;
    }
    const compare = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(term);
    if (compare) {
      requirements.push({
        key: checkKey(compare[1] ?? "", text),
        operator: compare[2] === "!=" ? "notin" : "in",
        values: [checkValue(compare[3] ?? "", text)],
      });
      continue;
    }
    if (term.startsWith("!")) {
      requirements.push({
        key: checkKey(term.slice(1).trim(), text),
        operator: "!",
        values: [],
      });
      continue;
    }
    if (/^\S+$/.test(term)) {
      requirements.push({
        key: checkKey(term, text),
        operator: "exists",
        values: [],
      });
      continue;
    }
    throw new SyntaxError(
      `Cannot parse label selector "${text}": cannot read "${term}"`,
    );
  }
  return requirements;
}

/** Whether `labels` satisfy every requirement of `selector`. */
export function matchesSelector(
  selector: LabelSelector,
  labels: Readonly<Record<string, string>>,
): boolean {
  for (const r of selector) {
    const value = Object.hasOwn(labels, r.key) ? labels[r.key] : undefined;
    switch (r.operator) {
      case "in":
        if (value === undefined || !r.values.includes(value)) return false;
        break;
      case "notin":
        if (value !== undefined && r.values.includes(value)) return false;
        break;
      case "exists":
        if (value === undefined) return false;
        break;
      case "!":
        if (value !== undefined) return false;
        break;
    }
  }
  return true;
}

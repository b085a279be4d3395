/** Topic names typed as a list ("a, b"), and which of them the cluster lacks. */

export function parseTopics(text: string): string[] {
  return [...new Set(text.split(/[\s,]+/).map((t) => t.trim()).filter(Boolean))];
}

/** The topics of `names` the cluster does not have: created, one partition each, on commit. */
export function missingTopics(names: string[], existing: readonly string[] | undefined): { name: string; partitions: number }[] {
  if (existing === undefined) return []; // not known yet: the forms wait for the list
  const known = new Set(existing);
  return names.filter((n) => !known.has(n)).map((name) => ({ name, partitions: 1 }));
}

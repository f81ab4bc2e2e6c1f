// Small helpers for the words of reports and log lines.

/** `count` and `noun`, plural unless the count is 1: '1 worker', '2 workers', '3 classes'. */
export function plural(count: number, noun: string): string {
  const suffix = noun.endsWith('s') ? 'es' : 's';
  return `${count} ${noun}${count === 1 ? '' : suffix}`;
}

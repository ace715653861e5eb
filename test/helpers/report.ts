/**
 * Prints a conformance count line (`conformance <set>: <passed>/<total>`) so the test log states
 * how far each external test set passes; the test itself still fails on any failure.
 */
export function reportConformance(set: string, passed: number, total: number): void {
  process.stdout.write(`conformance ${set}: ${passed}/${total}\n`);
}

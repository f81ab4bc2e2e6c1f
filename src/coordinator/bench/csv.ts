// Writes the results of a benchmark run as one CSV table: a row per measured
// or predicted configuration and per peer, a column per field, with the step
// breakdown spread over one column per phase.

import { stringify } from 'csv-stringify/sync';

import type { BenchRow, PeerRow, StepBreakdown } from './types.js';

/** The breakdown's phases, in the order of a step, and the column each gets. */
const kBreakdownColumns: [keyof StepBreakdown, string][] = [
  ['gather', 'breakdown_gather_ms'],
  ['compute', 'breakdown_compute_ms'],
  ['wait', 'breakdown_wait_ms'],
  ['allReduce', 'breakdown_all_reduce_ms'],
  ['update', 'breakdown_update_ms'],
  ['overhead', 'breakdown_overhead_ms'],
];

const kColumns = [
  'kind',
  'engine',
  'peer',
  'configuration',
  'input_size',
  'global_batch',
  'workers',
  'samples_per_second',
  'speedup',
  'efficiency',
  'gflops',
  'fraction_of_peak',
  ...kBreakdownColumns.map(([, column]) => column),
];

type CsvRecord = Record<string, string | number | undefined>;

/**
 * The rows, then the peers, as CSV with a header line. Peers have kind
 * `peer`; a field that does not apply to a row is left empty.
 */
export function benchCsv(rows: BenchRow[], peers: PeerRow[]): string {
  const records: CsvRecord[] = [
    ...rows.map((row) => {
      const record: CsvRecord = {
        kind: row.kind,
        engine: row.engine,
        input_size: row.inputSize,
        global_batch: row.globalBatch,
        workers: row.workers,
        samples_per_second: row.samplesPerSecond,
        speedup: row.speedup,
        efficiency: row.efficiency,
        gflops: row.gflops,
        fraction_of_peak: row.fractionOfPeak,
      };
      for (const [phase, column] of kBreakdownColumns) record[column] = row.breakdown?.[phase];
      return record;
    }),
    ...peers.map((peer) => ({
      kind: 'peer',
      peer: peer.peer,
      configuration: peer.configuration,
      input_size: peer.inputSize,
      global_batch: peer.globalBatch,
      samples_per_second: peer.samplesPerSecond,
    })),
  ];
  return stringify(records, { header: true, columns: kColumns });
}

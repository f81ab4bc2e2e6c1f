// Draws the results of a benchmark run as one SVG document: for each input
// size, a throughput and a parallel-efficiency panel side by side, their
// shared scales and legends, and the title. The panels come from
// chart-layers.ts; the whole is a Vega-Lite spec, rendered headless by Vega.

import { logger, None, parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

import {
  efficiencyPanel,
  kMeasured,
  kPredicted,
  peerLabel,
  type SharedChannels,
  throughputPanel,
} from './chart-layers.js';
import type { BenchEngine, BenchRow, PeerRow } from './types.js';

export interface BenchChartOptions {
  /** The chart's title. Default: 'syncgrad training throughput'. */
  title?: string;
}

/** A generous width of one character of a 10 px peer label, in pixels. */
const kPeerLabelCharWidth = 6;
/** Room left of a panel for its y axis: tick labels and title, in pixels. */
const kAxisRoom = 64;

/** The bench's own batches, which keep their colors in any subset of the rows. */
const kKnownBatches = [32, 128, 512];
const kBatchColors = ['#4c78a8', '#f58518', '#54a24b', '#b279a2', '#e45756', '#72b7b2', '#9d755d'];
const kEngineShapes: Record<BenchEngine, string> = { onnx: 'circle', tfjs: 'square' };

/** Renders the rows and peers of a benchmark run as an SVG document. */
export async function renderBenchChart(
  rows: BenchRow[],
  peers: PeerRow[],
  options: BenchChartOptions = {},
): Promise<string> {
  const all = [...rows, ...peers];
  const inputSizes = distinct(all.map((row) => row.inputSize));
  const maxWorkers = Math.max(2, ...rows.map((row) => row.workers));

  // scales are fixed here rather than left to each panel's data, so a subset
  // of the results keeps the same color for a batch and shape for an engine
  const batches = distinct(all.map((row) => row.globalBatch));
  const engines = [...new Set(rows.map((row) => row.engine))].sort();
  const hasPredicted = rows.some((row) => row.kind === 'predicted');
  const kinds = hasPredicted ? [kMeasured, kPredicted] : [kMeasured];
  const channels: SharedChannels = {
    x: {
      field: 'workers',
      type: 'quantitative',
      title: 'workers (threads)',
      scale: { domain: [1, maxWorkers], nice: false, zero: false },
      axis: { format: 'd', values: workerTicks(maxWorkers) },
    },
    color: {
      field: 'globalBatch',
      type: 'nominal',
      title: 'global batch',
      scale: { domain: batches, range: batchColors(batches) },
      ...(batches.length === 0 ? { legend: null } : {}),
    },
    shape: {
      field: 'engine',
      type: 'nominal',
      title: 'engine',
      scale: { domain: engines, range: engines.map((engine) => kEngineShapes[engine]) },
      ...(engines.length === 0 ? { legend: null } : {}),
    },
    strokeDash: {
      field: 'kind',
      type: 'nominal',
      title: 'result',
      scale: {
        domain: kinds,
        range: [
          [1, 0],
          [6, 4],
        ],
      },
      legend: hasPredicted ? { symbolSize: 500 } : null,
    },
  };

  const peerLabelRoom =
    peers.length === 0
      ? 24
      : 16 + kPeerLabelCharWidth * Math.max(...peers.map((peer) => peerLabel(peer).length));

  const subtitle: string[] = [];
  if (rows.length === 0) subtitle.push('No syncgrad results.');
  else if (!hasPredicted) subtitle.push('Solid lines: measured.');
  else
    subtitle.push(
      'Solid lines: measured. Dashed lines, hollow markers: predicted by the cost model.',
    );
  subtitle.push('Parallel efficiency is the speedup over 1 worker divided by the workers.');
  if (peers.length > 0) {
    subtitle.push(
      'Dotted rules: peer frameworks on the same model and optimizer, colored by global batch.',
    );
  }
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: options.title ?? 'syncgrad training throughput',
      subtitle,
      anchor: 'start',
      fontSize: 17,
      subtitleFontSize: 12,
      subtitleColor: '#555',
      subtitlePadding: 6,
      offset: 18,
    },
    background: 'white',
    padding: 16,
    // panels are laid out by their plot areas alone ('flush'), with the room
    // for axes and peer labels set here: Vega measures text without a canvas
    // by a rough estimate, which would leave uneven gaps between panels
    bounds: 'flush',
    columns: 2,
    spacing: { row: 76, column: kAxisRoom + peerLabelRoom },
    concat: (inputSizes.length > 0 ? inputSizes : [0]).flatMap((inputSize) => {
      const inputRows = rows.filter((row) => row.inputSize === inputSize);
      const inputPeers = peers.filter((peer) => peer.inputSize === inputSize);
      return [
        throughputPanel(inputSize, inputRows, inputPeers, channels),
        efficiencyPanel(inputSize, inputRows, channels, maxWorkers),
      ];
    }),
    config: {
      font: 'DejaVu Sans, Helvetica, Arial, sans-serif',
      view: { stroke: '#d0d0d0' },
      axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal', gridColor: '#eee' },
      legend: { labelFontSize: 11, titleFontSize: 12, symbolStrokeWidth: 2, labelLimit: 240 },
      title: { fontSize: 13, fontWeight: 'bold', anchor: 'start', offset: 8 },
    },
  };

  // only the coordinator prints, so Vega's warnings about a spec are dropped;
  // an invalid spec still throws
  const quiet = logger(None);
  const view = new View(parse(compile(spec, { logger: quiet }).spec), {
    renderer: 'none',
    logger: quiet,
  });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** 1 and then every multiple of a power-of-two step, with at most 10 ticks in all. */
function workerTicks(maxWorkers: number): number[] {
  let step = 1;
  while (maxWorkers / step > 10) step *= 2;
  const ticks = [1];
  for (let workers = step; workers <= maxWorkers; workers += step) {
    if (workers > 1) ticks.push(workers);
  }
  return ticks;
}

/** Colors for the batches: the bench's own by their fixed place, any other after them. */
function batchColors(batches: number[]): string[] {
  const others = batches.filter((batch) => !kKnownBatches.includes(batch));
  return batches.map((batch) => {
    const known = kKnownBatches.indexOf(batch);
    const index = known >= 0 ? known : kKnownBatches.length + others.indexOf(batch);
    return kBatchColors[index % kBatchColors.length];
  });
}

function distinct(values: number[]): number[] {
  return [...new Set(values)].sort((a, b) => a - b);
}

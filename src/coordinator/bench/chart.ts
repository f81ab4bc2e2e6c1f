// Draws the results of a benchmark run as one SVG document: for each input
// size, throughput and parallel efficiency against the number of workers, with
// the peer frameworks as reference lines. The chart is a Vega-Lite spec,
// rendered headless by Vega.

import { logger, None, parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

import type { BenchEngine, BenchRow, PeerRow } from './types.js';

type ConcatSpec = Extract<TopLevelSpec, { concat: unknown }>;
type PanelSpec = ConcatSpec['concat'][number];
type LayerSpec = Extract<PanelSpec, { layer: unknown }>['layer'][number];

export interface BenchChartOptions {
  /** The chart's title. Default: 'syncgrad training throughput'. */
  title?: string;
}

const kPanelWidth = 360;
const kPanelHeight = 240;
/** Vertical room a peer label needs, in pixels, so that two never overlap. */
const kPeerLabelHeight = 13;
/** A generous width of one character of a 10 px peer label, in pixels. */
const kPeerLabelCharWidth = 6;
/** Room left of a panel for its y axis: tick labels and title, in pixels. */
const kAxisRoom = 64;
const kMeasured = 'measured';
const kPredicted = 'predicted by the cost model';
/** The bench's own batches, which keep their colors in any subset of the rows. */
const kKnownBatches = [32, 128, 512];
const kBatchColors = ['#4c78a8', '#f58518', '#54a24b', '#b279a2', '#e45756', '#72b7b2', '#9d755d'];
const kEngineShapes: Record<BenchEngine, string> = { onnx: 'circle', tfjs: 'square' };
const kReferenceColor = '#6f6f6f';

/** Names for the input sizes of the datasets syncgrad knows. */
const kInputNames = new Map([
  [784, '784 inputs (MNIST)'],
  [3072, '3072 inputs (CIFAR-10)'],
]);

/** One point of a throughput or efficiency line, flattened for Vega-Lite. */
interface Point {
  kind: string;
  engine: string;
  globalBatch: number;
  workers: number;
  samplesPerSecond: number;
  efficiency: number;
  /** Rows get a marker; the joint that starts a predicted line does not. */
  marked: boolean;
}

/** The y channel of one panel: which field, its title, domain and ticks. */
interface YChannel {
  field: 'samplesPerSecond' | 'efficiency';
  type: 'quantitative';
  title: string;
  scale: { domain: number[]; nice: false };
  axis: { format?: string; labelExpr?: string; values?: number[] };
}

/** The channels every panel shares, so that colors, shapes and dashes agree. */
interface SharedChannels {
  x: LayerEncoding['x'];
  color: LayerEncoding['color'];
  shape: LayerEncoding['shape'];
  strokeDash: LayerEncoding['strokeDash'];
}
type LayerEncoding = NonNullable<Extract<LayerSpec, { mark: unknown }>['encoding']>;

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

/** Samples per second against workers, one line per engine and batch, peers as rules. */
function throughputPanel(
  inputSize: number,
  rows: BenchRow[],
  peers: PeerRow[],
  channels: SharedChannels,
): PanelSpec {
  const points = linePoints(rows);
  const highest = Math.max(
    1000,
    ...points.map((point) => point.samplesPerSecond),
    ...peers.map((peer) => peer.samplesPerSecond),
  );
  const y: YChannel = {
    field: 'samplesPerSecond',
    type: 'quantitative',
    title: 'throughput (samples/s)',
    scale: { domain: [0, highest * 1.08], nice: false },
    // SI prefixes (40k), but a plain 0 at the origin rather than '0k'
    axis: { labelExpr: "datum.value === 0 ? '0' : format(datum.value, '~s')" },
  };
  const describe = (point: Point) => `${Math.round(point.samplesPerSecond)} samples/s`;
  return {
    title: `Throughput, ${inputName(inputSize)}`,
    width: kPanelWidth,
    height: kPanelHeight,
    layer: [
      ...peerLayers(peers, y.scale.domain[1], channels.color),
      ...seriesLayers('throughput', points, y, channels, describe),
    ],
  };
}

/** Speedup over workers against workers, with linear scaling drawn at 1. */
function efficiencyPanel(
  inputSize: number,
  rows: BenchRow[],
  channels: SharedChannels,
  maxWorkers: number,
): PanelSpec {
  const points = linePoints(rows);
  const yMax = Math.max(1.1, ...points.map((point) => point.efficiency * 1.05));
  const y: YChannel = {
    field: 'efficiency',
    type: 'quantitative',
    title: 'parallel efficiency',
    scale: { domain: [0, yMax], nice: false },
    axis: {
      format: '.1f',
      values: [0, 0.2, 0.4, 0.6, 0.8, 1, 1.2, 1.4, 1.6].filter((v) => v <= yMax),
    },
  };
  const linearScaling = { efficiency: 1, workers: maxWorkers, label: 'linear scaling' };
  const describe = (point: Point) => `efficiency ${point.efficiency.toFixed(3)}`;
  return {
    title: `Parallel efficiency, ${inputName(inputSize)}`,
    width: kPanelWidth,
    height: kPanelHeight,
    layer: [
      {
        data: { values: [linearScaling] },
        mark: { type: 'rule', color: kReferenceColor, strokeDash: [2, 3], strokeWidth: 1 },
        encoding: { y },
      },
      {
        data: { values: [linearScaling] },
        mark: { type: 'text', align: 'right', baseline: 'bottom', dx: -4, dy: -3, fontSize: 10 },
        encoding: {
          x: channels.x,
          y,
          text: { field: 'label' },
          color: { value: kReferenceColor },
        },
      },
      ...seriesLayers('efficiency', points, y, channels, describe),
    ],
  };
}

/**
 * The line and marker layers of one panel. Lines take their color from the
 * batch and are dashed and lighter when predicted; markers take their shape
 * from the engine and are hollow when predicted. Each marker's description,
 * which names its panel and kind, becomes its aria-label in the SVG.
 */
function seriesLayers(
  panel: string,
  points: Point[],
  y: YChannel,
  channels: SharedChannels,
  describe: (point: Point) => string,
): LayerSpec[] {
  const { x, color, shape, strokeDash } = channels;
  const markers = (kind: string, filled: boolean): LayerSpec => ({
    data: {
      values: points
        .filter((point) => point.marked && point.kind === kind)
        .map((point) => ({
          ...point,
          description:
            `${panel}, ${kind === kMeasured ? 'measured' : 'predicted'}: ${point.engine}, ` +
            `batch ${point.globalBatch}, ${point.workers} ` +
            `${point.workers === 1 ? 'worker' : 'workers'}, ${describe(point)}`,
        })),
    },
    mark: { type: 'point', filled, size: 48, strokeWidth: 1.5, opacity: 1 },
    encoding: {
      x,
      y,
      color,
      shape,
      ...(filled ? {} : { fill: { value: 'white' } }),
      description: { field: 'description' },
    },
  });
  const line = (kind: string, opacity: number): LayerSpec => ({
    data: { values: points.filter((point) => point.kind === kind) },
    mark: { type: 'line', strokeWidth: 2, opacity },
    encoding: { x, y, color, strokeDash, detail: { field: 'engine' } },
  });
  return [
    line(kMeasured, 1),
    line(kPredicted, 0.6),
    markers(kMeasured, true),
    markers(kPredicted, false),
  ];
}

/**
 * A dotted rule per peer across the panel, in its batch's color, labelled in
 * the margin on the right where no line of syncgrad's can cross the label.
 * Labels that would overlap are pushed apart, upwards first and then back
 * down from the top of the panel, so that each stays next to its rule.
 */
function peerLayers(peers: PeerRow[], yMax: number, color: LayerEncoding['color']): LayerSpec[] {
  if (peers.length === 0) return [];
  const gap = (kPeerLabelHeight / kPanelHeight) * yMax;
  const sorted = [...peers].sort((a, b) => a.samplesPerSecond - b.samplesPerSecond);
  const labelY = sorted.map((peer) => peer.samplesPerSecond);
  for (let i = 1; i < labelY.length; i++) labelY[i] = Math.max(labelY[i], labelY[i - 1] + gap);
  for (let i = labelY.length - 1; i >= 0; i--) {
    const ceiling = i === labelY.length - 1 ? yMax - gap / 2 : labelY[i + 1] - gap;
    labelY[i] = Math.min(labelY[i], ceiling);
  }
  const values = sorted.map((peer, i) => ({
    samplesPerSecond: peer.samplesPerSecond,
    globalBatch: peer.globalBatch,
    labelY: labelY[i],
    label: peerLabel(peer),
  }));

  const scale = { domain: [0, yMax], nice: false };
  return [
    {
      data: { values },
      mark: { type: 'rule', strokeWidth: 1.5, strokeDash: [1, 3], strokeCap: 'round' },
      encoding: { y: { field: 'samplesPerSecond', type: 'quantitative', scale }, color },
    },
    {
      data: { values },
      mark: { type: 'text', align: 'left', baseline: 'middle', dx: 10, fontSize: 10 },
      encoding: {
        x: { value: kPanelWidth },
        y: { field: 'labelY', type: 'quantitative', scale },
        text: { field: 'label' },
        color: { value: '#444' },
      },
    },
  ];
}

/**
 * Flattens rows into line points. A predicted line starts from the last
 * measured point of its engine and batch, so that it reads as the
 * continuation of the measured line.
 */
function linePoints(rows: BenchRow[]): Point[] {
  const point = (row: BenchRow, kind: string, marked: boolean): Point => ({
    kind,
    engine: row.engine,
    globalBatch: row.globalBatch,
    workers: row.workers,
    samplesPerSecond: row.samplesPerSecond,
    efficiency: row.efficiency,
    marked,
  });
  const sorted = [...rows].sort((a, b) => a.workers - b.workers);
  const points = sorted.map((row) =>
    point(row, row.kind === 'measured' ? kMeasured : kPredicted, true),
  );

  const lines = new Map<string, BenchRow[]>();
  for (const row of sorted) {
    const key = `${row.engine} ${row.globalBatch}`;
    lines.set(key, [...(lines.get(key) ?? []), row]);
  }
  for (const line of lines.values()) {
    const firstPredicted = line.find((row) => row.kind === 'predicted');
    if (!firstPredicted) continue;
    const joint = line
      .filter((row) => row.kind === 'measured' && row.workers <= firstPredicted.workers)
      .at(-1);
    if (joint) points.push(point(joint, kPredicted, false));
  }
  return points;
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

function peerLabel(peer: PeerRow): string {
  return `${peer.peer}, ${peer.configuration}, batch ${peer.globalBatch}`;
}

function distinct(values: number[]): number[] {
  return [...new Set(values)].sort((a, b) => a - b);
}

function inputName(inputSize: number): string {
  if (inputSize === 0) return 'no results';
  return kInputNames.get(inputSize) ?? `${inputSize} inputs`;
}

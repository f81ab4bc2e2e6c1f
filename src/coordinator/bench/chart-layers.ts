// The panels of the bench chart as Vega-Lite specs: throughput and parallel
// efficiency against workers, drawn as lines and markers, with the peer
// frameworks and linear scaling as reference rules. chart.ts lays them out.

import type { TopLevelSpec } from 'vega-lite';

import type { BenchRow, PeerRow } from './types.js';

type ConcatSpec = Extract<TopLevelSpec, { concat: unknown }>;
type PanelSpec = ConcatSpec['concat'][number];
type LayerSpec = Extract<PanelSpec, { layer: unknown }>['layer'][number];

const kPanelWidth = 360;
const kPanelHeight = 240;
/** Vertical room a peer label needs, in pixels, so that two never overlap. */
const kPeerLabelHeight = 13;
/** The two kinds of result, as the legend names them. */
export const kMeasured = 'measured';
export const kPredicted = 'predicted by the cost model';
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
export interface SharedChannels {
  x: LayerEncoding['x'];
  color: LayerEncoding['color'];
  shape: LayerEncoding['shape'];
  strokeDash: LayerEncoding['strokeDash'];
}
type LayerEncoding = NonNullable<Extract<LayerSpec, { mark: unknown }>['encoding']>;

/** Samples per second against workers, one line per engine and batch, peers as rules. */
export function throughputPanel(
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
export function efficiencyPanel(
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

/** The label of a peer's rule, which also sets the width of the margin that holds it. */
export function peerLabel(peer: PeerRow): string {
  return `${peer.peer}, ${peer.configuration}, batch ${peer.globalBatch}`;
}

function inputName(inputSize: number): string {
  if (inputSize === 0) return 'no results';
  return kInputNames.get(inputSize) ?? `${inputSize} inputs`;
}

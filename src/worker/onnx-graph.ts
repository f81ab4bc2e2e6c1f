// ONNX graphs of the MLP, built in code for one model shape: a training graph
// that returns the shard's summed loss, its number correct and the gradient of
// every parameter, and an evaluation graph that returns loss and predictions.
//
// The backward pass is written out rather than derived: with output-major
// kernels K (see layout.ts) a dense layer is Z = A·Kᵀ + b, so
//   dK = dZᵀ·A      Gemm(dZ, A, transA=1)
//   db = Σ_rows dZ  ReduceSum(dZ, axes=[0])
//   dA = dZ·K       MatMul(dZ, K)
// and the transposes are Gemm attributes that MLAS folds into its packing,
// never separate Transpose nodes. ReLU's derivative is Sign of its output,
// which is 1 where the output is positive and 0 where it was clipped.

import onnxProto from 'onnx-proto';

import type { ModelShape } from '../shared/layout.js';
import type { PixelType } from '../shared/messages.js';

const { onnx } = onnxProto;
const kFloat = onnx.TensorProto.DataType.FLOAT;
const kInt32 = onnx.TensorProto.DataType.INT32;
const kInt64 = onnx.TensorProto.DataType.INT64;
const kUint8 = onnx.TensorProto.DataType.UINT8;
const kIntAttribute = onnx.AttributeProto.AttributeType.INT;

/** Opset 17: ReduceSum takes its axes as an input, LogSoftmax works per row. */
const kOpset = 17;

/** Names of the graph inputs that carry layer `index`'s parameters. */
export function parameterNames(index: number): { kernel: string; bias: string } {
  return { kernel: `kernel${index}`, bias: `bias${index}` };
}

/** Names of the training graph outputs for layer `index`'s gradients. */
export function gradientNames(index: number): { kernel: string; bias: string } {
  return { kernel: `kernel${index}_grad`, bias: `bias${index}_grad` };
}

type Node = onnxProto.onnx.INodeProto;
type ValueInfo = onnxProto.onnx.IValueInfoProto;

/** A graph under construction: nodes in execution order and fresh value names. */
class GraphBuilder {
  readonly nodes: Node[] = [];
  readonly initializers: onnxProto.onnx.ITensorProto[] = [];
  private counter = 0;

  /** Appends a node; its output is named `output`, or a fresh name. */
  op(
    type: string,
    inputs: string[],
    attributes: Record<string, number> = {},
    output = `${type.toLowerCase()}_${this.counter++}`,
  ): string {
    this.nodes.push({
      opType: type,
      input: inputs,
      output: [output],
      attribute: Object.entries(attributes).map(([name, i]) => ({ name, type: kIntAttribute, i })),
    });
    return output;
  }

  /** A float scalar constant. */
  scalar(value: number): string {
    const name = `scalar_${value}`;
    if (!this.initializers.some((tensor) => tensor.name === name)) {
      this.initializers.push({ name, dataType: kFloat, dims: [], floatData: [value] });
    }
    return name;
  }

  /** An int64 constant, for ReduceSum's axes. */
  axes(values: number[]): string {
    const name = `axes_${values.join('_')}`;
    if (!this.initializers.some((tensor) => tensor.name === name)) {
      this.initializers.push({ name, dataType: kInt64, dims: [values.length], int64Data: values });
    }
    return name;
  }
}

function tensorInfo(name: string, type: number, dims: (number | string)[]): ValueInfo {
  const dim = dims.map((size) =>
    typeof size === 'string' ? { dimParam: size } : { dimValue: size },
  );
  return { name, type: { tensorType: { elemType: type, shape: { dim } } } };
}

function layerWidths(shape: ModelShape): number[] {
  return [shape.inputSize, ...shape.hiddenSizes, shape.outputSize];
}

/**
 * Graph inputs shared by both graphs: `inputs` [n, inputSize] of `pixelType`, `targets`
 * [n, outputSize] one-hot, and each layer's kernel [out, in] and bias as a
 * column [out, 1], which broadcasts over the columns of Zᵀ.
 */
function modelInputs(shape: ModelShape, pixelType: PixelType): ValueInfo[] {
  const widths = layerWidths(shape);
  const inputs = [
    tensorInfo('inputs', pixelType === 'uint8' ? kUint8 : kFloat, ['rows', shape.inputSize]),
    tensorInfo('targets', kFloat, ['rows', shape.outputSize]),
  ];
  for (let index = 0; index + 1 < widths.length; index++) {
    const names = parameterNames(index);
    inputs.push(tensorInfo(names.kernel, kFloat, [widths[index + 1], widths[index]]));
    inputs.push(tensorInfo(names.bias, kFloat, [widths[index + 1], 1]));
  }
  return inputs;
}

/**
 * Forward pass in the transposed orientation, one column per row of the
 * shard: Zᵀ = K·Aᵀ + b. MLAS packs the right operand of every product, so
 * keeping the weight matrix on the left means only activation-sized matrices
 * (n × width) are packed per call, never a kernel; with the kernel on the
 * right, packing the 784×200 kernel twice per step cost more than the whole
 * arithmetic of a 16-row shard. Returns every layer's input, transposed, and
 * the logits, transposed.
 */
function forward(
  graph: GraphBuilder,
  layers: number,
  pixelType: PixelType,
): { inputs: string[]; logits: string } {
  const inputs: string[] = [];
  // 8-bit pixels become floats in 0..1 here, not in JavaScript, where a loop
  // over every gathered pixel would cost more than the cast and the division
  let value =
    pixelType === 'uint8'
      ? graph.op('Div', [graph.op('Cast', ['inputs'], { to: kFloat }), graph.scalar(255)])
      : 'inputs';
  for (let index = 0; index < layers; index++) {
    const { kernel, bias } = parameterNames(index);
    // the first layer reads the shard's rows as they are: B = inputsᵀ by attribute
    const product = graph.op('Gemm', [kernel, value, bias], index === 0 ? { transB: 1 } : {});
    inputs.push(value);
    value = index + 1 < layers ? graph.op('Relu', [product]) : product;
  }
  return { inputs, logits: value };
}

/**
 * Summed cross-entropy and number correct of transposed logits, named
 * `loss_sum` and `correct`. Returns the log-probabilities and the one-hot
 * targets, both transposed.
 */
function lossAndCorrect(graph: GraphBuilder, logits: string) {
  const targets = graph.op('Transpose', ['targets'], {}, 'targets_t');
  const logProbabilities = graph.op('LogSoftmax', [logits], { axis: 0 });
  const picked = graph.op('Mul', [targets, logProbabilities]);
  const negativeLoss = graph.op('ReduceSum', [picked], { keepdims: 0 });
  graph.op('Neg', [negativeLoss], {}, 'loss_sum');

  const predicted = graph.op('ArgMax', [logits], { axis: 0, keepdims: 0 });
  const labels = graph.op('ArgMax', [targets], { axis: 0, keepdims: 0 });
  const hits = graph.op('Cast', [graph.op('Equal', [predicted, labels])], { to: kFloat });
  graph.op('ReduceSum', [hits], { keepdims: 0 }, 'correct');
  return { logProbabilities, targets, predicted };
}

function model(graph: GraphBuilder, name: string, inputs: ValueInfo[], outputs: ValueInfo[]) {
  const proto = {
    irVersion: 8,
    producerName: 'syncgrad',
    opsetImport: [{ domain: '', version: kOpset }],
    graph: {
      name,
      node: graph.nodes,
      initializer: graph.initializers,
      input: inputs,
      output: outputs,
    },
  };
  return onnx.ModelProto.encode(onnx.ModelProto.fromObject(proto)).finish();
}

/**
 * The training graph: inputs as in `modelInputs`, 8-bit pixels divided by 255;
 * outputs `loss_sum` and `correct` (float scalars) and, per layer, the kernel
 * and bias gradients of the summed loss, shaped like the parameters.
 */
export function trainingGraph(shape: ModelShape, pixelType: PixelType = 'float32'): Uint8Array {
  const graph = new GraphBuilder();
  const widths = layerWidths(shape);
  const layers = widths.length - 1;
  const { inputs, logits } = forward(graph, layers, pixelType);
  const { logProbabilities, targets } = lossAndCorrect(graph, logits);

  // dZᵀ of the output layer: softmax − target, for the loss summed over rows
  let delta = graph.op('Sub', [graph.op('Exp', [logProbabilities]), targets]);
  const outputs = [tensorInfo('loss_sum', kFloat, []), tensorInfo('correct', kFloat, [])];
  for (let index = layers - 1; index >= 0; index--) {
    // dK = dZᵀ·A: the first layer's A is the rows themselves, the others' Aᵀ
    const gradients = gradientNames(index);
    graph.op('Gemm', [delta, inputs[index]], index === 0 ? {} : { transB: 1 }, gradients.kernel);
    graph.op('ReduceSum', [delta, graph.axes([1])], { keepdims: 0 }, gradients.bias);
    outputs.push(tensorInfo(gradients.kernel, kFloat, [widths[index + 1], widths[index]]));
    outputs.push(tensorInfo(gradients.bias, kFloat, [widths[index + 1]]));
    if (index === 0) break;

    // dAᵀ = Kᵀ·dZᵀ, then back through the ReLU that produced A
    const upstream = graph.op('Gemm', [parameterNames(index).kernel, delta], { transA: 1 });
    delta = graph.op('Mul', [upstream, graph.op('Sign', [inputs[index]])]);
  }
  return model(graph, 'syncgrad_train', modelInputs(shape, pixelType), outputs);
}

/**
 * The evaluation graph: the same inputs; outputs `loss_sum`, `correct` and
 * `predictions` (int32 [rows], the most probable class of each row).
 */
export function evaluationGraph(shape: ModelShape, pixelType: PixelType = 'float32'): Uint8Array {
  const graph = new GraphBuilder();
  const layers = layerWidths(shape).length - 1;
  const { logits } = forward(graph, layers, pixelType);
  const { predicted } = lossAndCorrect(graph, logits);
  graph.op('Cast', [predicted], { to: kInt32 }, 'predictions');
  const outputs = [
    tensorInfo('loss_sum', kFloat, []),
    tensorInfo('correct', kFloat, []),
    tensorInfo('predictions', kInt32, ['rows']),
  ];
  return model(graph, 'syncgrad_evaluate', modelInputs(shape, pixelType), outputs);
}

/**
 * A graph of one product `a·b` of `a` [m, k] and `b` [k, n], untransposed,
 * for measuring the rate of the engine's matrix multiply on its own.
 */
export function productGraph(m: number, k: number, n: number): Uint8Array {
  const graph = new GraphBuilder();
  graph.op('MatMul', ['a', 'b'], {}, 'product');
  const inputs = [tensorInfo('a', kFloat, [m, k]), tensorInfo('b', kFloat, [k, n])];
  return model(graph, 'syncgrad_product', inputs, [tensorInfo('product', kFloat, [m, n])]);
}

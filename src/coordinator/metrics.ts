// Summaries computed from predictions: overall and per-class accuracy, and the
// digest that identifies a parameter vector bit for bit.

import { createHash } from 'node:crypto';

export interface ClassAccuracy {
  className: string;
  correct: number;
  total: number;
  accuracy: number;
}

export interface EvaluationReport {
  /** Which data the figures are from: the test set or the held-out validation split. */
  source: 'test' | 'validation';
  count: number;
  loss: number;
  accuracy: number;
  perClass: ClassAccuracy[];
}

export function evaluationReport(
  source: EvaluationReport['source'],
  lossSum: number,
  predictions: Int32Array,
  labels: ArrayLike<number>,
  classNames: string[],
): EvaluationReport {
  const correct = new Array<number>(classNames.length).fill(0);
  const total = new Array<number>(classNames.length).fill(0);
  for (let i = 0; i < predictions.length; i++) {
    total[labels[i]]++;
    if (predictions[i] === labels[i]) correct[labels[i]]++;
  }
  const allCorrect = correct.reduce((sum, value) => sum + value, 0);
  return {
    source,
    count: predictions.length,
    loss: lossSum / predictions.length,
    accuracy: allCorrect / predictions.length,
    perClass: classNames.map((className, index) => ({
      className,
      correct: correct[index],
      total: total[index],
      accuracy: total[index] > 0 ? correct[index] / total[index] : 0,
    })),
  };
}

/** SHA-256 of the parameters' bytes, in hex: equal digests mean identical models. */
export function parametersDigest(parameters: Float32Array): string {
  const bytes = new Uint8Array(parameters.byteLength);
  bytes.set(new Uint8Array(parameters.buffer, parameters.byteOffset, parameters.byteLength));
  return createHash('sha256').update(bytes).digest('hex');
}

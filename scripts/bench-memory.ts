// Peak memory (and throughput) of syncgrad with 1 and 2 workers and of
// tfjs-layers model.fit on one thread on a real dataset, measured side by
// side in one run. Every configuration runs in a fresh process, in
// alternating rounds, so that each gets its own peak-memory figure and drifts
// in machine load hit all of them alike; the best round of each is reported.
// `syncgrad bench` is the throughput benchmark; this one answers what an
// extra worker costs in memory.
//
// usage: node dist/scripts/bench-memory.js [--dataset fashion-mnist]
//        [--steps 600] [--batch-size 32] [--engine onnx] [--rounds 2]

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';

const argv = await yargs(hideBin(process.argv))
  .option('dataset', { type: 'string', default: 'fashion-mnist' })
  .option('steps', { type: 'number', default: 600, describe: 'Updates per measured run' })
  .option('batch-size', { type: 'number', default: 32 })
  .option('engine', { type: 'string', default: 'onnx', describe: 'onnx or tfjs (wasm backend)' })
  .option('rounds', { type: 'number', default: 2 })
  .strict()
  .parseAsync();

const cli = fileURLToPath(new URL('../src/cli.js', import.meta.url));
const fit = fileURLToPath(new URL('./fit-baseline.js', import.meta.url));

interface Measurement {
  samplesPerSecond: number;
  peakRssBytes: number;
}

function run(args: string[]): Measurement {
  const child = spawnSync(process.execPath, args, {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (child.status !== 0) throw new Error(`${args.join(' ')} failed:\n${child.stderr}`);
  const lines = child.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]) as Measurement;
}

const configurations: { name: string; args: string[] }[] = [1, 2].map((workers) => ({
  name: `syncgrad, ${workers} worker${workers > 1 ? 's' : ''}`,
  args: [
    cli,
    'train',
    '--dataset',
    argv.dataset,
    '--workers',
    String(workers),
    '--max-steps',
    String(argv.steps),
    '--batch-size',
    String(argv['batch-size']),
    '--engine',
    argv.engine,
    '--validation-split',
    '0',
    '--json',
  ],
}));
configurations.push({
  name: 'tfjs-layers model.fit, 1 thread',
  args: [fit, argv.dataset, String(argv.steps), String(argv['batch-size']), 'wasm'],
});

const best = new Map<string, Measurement>();
for (let round = 1; round <= argv.rounds; round++) {
  for (const configuration of configurations) {
    process.stderr.write(`round ${round}/${argv.rounds}: ${configuration.name} ...`);
    const measured = run(configuration.args);
    process.stderr.write(` ${Math.round(measured.samplesPerSecond)} samples/s\n`);
    const previous = best.get(configuration.name);
    if (!previous || measured.samplesPerSecond > previous.samplesPerSecond)
      best.set(configuration.name, measured);
  }
}

const [one, two, fitted] = configurations.map((configuration) => best.get(configuration.name)!);
const megabytes = (bytes: number) => (bytes / 2 ** 20).toFixed(0);
console.log(
  `\n${argv.dataset}, batch ${argv['batch-size']}, ${argv.steps} steps, engine ${argv.engine}, best of ${argv.rounds}`,
);
console.log(
  `${'configuration'.padEnd(34)} ${'samples/s'.padStart(10)} ${'peak RSS MB'.padStart(12)}`,
);
for (const configuration of configurations) {
  const measured = best.get(configuration.name)!;
  console.log(
    `${configuration.name.padEnd(34)} ${Math.round(measured.samplesPerSecond).toString().padStart(10)} ${megabytes(measured.peakRssBytes).padStart(12)}`,
  );
}
console.log(
  `\n2 workers / 1 worker:              ${(two.samplesPerSecond / one.samplesPerSecond).toFixed(2)}x`,
);
console.log(
  `1 worker / model.fit:              ${(one.samplesPerSecond / fitted.samplesPerSecond).toFixed(2)}x`,
);
console.log(
  `2 workers / model.fit:             ${(two.samplesPerSecond / fitted.samplesPerSecond).toFixed(2)}x`,
);
console.log(
  `peak RSS, 2 workers - 1 worker:    ${megabytes(two.peakRssBytes - one.peakRssBytes)} MB`,
);

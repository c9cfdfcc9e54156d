// Encodes the captions of benchmarks/tokenizer with the Hugging Face Rust tokenizer
// (native node binding) and prints "tokens N bytes B seconds S" for the best of 3
// runs. Thread count: RAYON_NUM_THREADS, set by the caller.
//
//   node tokenizer_hf.mjs NODE_MODULES_DIR tokenizer.json captions.txt
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const [modules, tokenizerPath, captionsPath] = process.argv.slice(2);
const require = createRequire(path.join(path.resolve(modules), 'noop.js'));
const { Tokenizer } = require('@anush008/tokenizers');

const texts = readFileSync(captionsPath, 'utf8').split('\n').filter((line) => line.length > 0);
const bytes = texts.reduce((n, t) => n + Buffer.byteLength(t), 0);
const tokenizer = Tokenizer.fromFile(tokenizerPath);

let best = Infinity;
let tokens = 0;
for (let run = 0; run < 3; ++run) {
  const start = process.hrtime.bigint();
  const encodings = await tokenizer.encodeBatch(texts, { addSpecialTokens: true });
  let n = 0;
  for (const e of encodings) n += e.getIds().length;
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  best = Math.min(best, seconds);
  tokens = n;
}
console.log(`tokens ${tokens} bytes ${bytes} seconds ${best}`);

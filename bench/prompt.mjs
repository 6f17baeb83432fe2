// The benchmark prompt, shared by `fs2 bench` and the llama.cpp runner so both evaluate the same
// token ids: the reference harness's LCG over the non-special part of the vocabulary.
export function benchPrompt(length, vocabSize = 32000) {
  const prompt = [];
  let state = 12345;
  for (let i = 0; i < length; i++) {
    state = (state * 1103515245 + 12345) % 2147483648;
    prompt.push(259 + (state % (vocabSize - 259)));
  }
  return prompt;
}

import { describe, expect, it } from '@jest/globals';

import { TensorShapeError } from '../checkpoint/errors.js';
import { convertDecoderTensor, decoderParameterShapes, exportDecoderTensor, interleavedRotaryRows, isDecoderLinearWeight } from './decoderCheckpoint.js';

const SHAPES = decoderParameterShapes({ vocabSize: 6, modelDim: 4, numLayers: 1, numHeads: 2, numKvHeads: 1, ffnInnerDim: 3 });

describe('decoder checkpoint conversion', () => {
  it('lists the parameters of a decoder, in fs2 names and layout', () => {
    expect(Object.fromEntries(SHAPES)).toEqual({
      'decoder_frontend.embed.weight': [6, 4],
      'decoder.layers.0.self_attn_layer_norm.weight': [4],
      'decoder.layers.0.self_attn.q_proj.weight': [4, 4],
      'decoder.layers.0.self_attn.k_proj.weight': [4, 2],
      'decoder.layers.0.self_attn.v_proj.weight': [4, 2],
      'decoder.layers.0.self_attn.output_proj.weight': [4, 4],
      'decoder.layers.0.ffn_layer_norm.weight': [4],
      'decoder.layers.0.ffn.gate_proj.weight': [4, 3],
      'decoder.layers.0.ffn.inner_proj.weight': [4, 3],
      'decoder.layers.0.ffn.output_proj.weight': [3, 4],
      'decoder.layer_norm.weight': [4],
      'final_proj.weight': [4, 6],
    });
    expect(isDecoderLinearWeight('final_proj.weight', [4, 6])).toBe(true);
    expect(isDecoderLinearWeight('decoder_frontend.embed.weight', [6, 4])).toBe(false);
  });

  it('transposes a linear weight [out, in] -> [in, out] and back', () => {
    const tensor = { key: 'gate', shape: [3, 4], data: Float32Array.from({ length: 12 }, (_, i) => i) };
    const entry = convertDecoderTensor(tensor, 'decoder.layers.0.ffn.gate_proj.weight', { family: 'toy', shapes: SHAPES, path: '/p' });

    expect(entry.shape).toEqual([4, 3]);
    expect(Array.from(entry.data)).toEqual([0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]);
    expect(exportDecoderTensor(entry, 'gate')).toEqual(tensor);
  });

  it('permutes interleaved q/k rows to rotate-half order and back', () => {
    // One head of width 4: Meta rows (0, 1) and (2, 3) are rotary pairs, HF rows (0, 2) and (1, 3).
    const shapes = decoderParameterShapes({ vocabSize: 6, modelDim: 4, numLayers: 1, numHeads: 1, ffnInnerDim: 3 });
    const q = { key: 'wq', shape: [4, 4], data: Float32Array.from({ length: 16 }, (_, i) => i) };
    const name = 'decoder.layers.0.self_attn.q_proj.weight';
    const options = { family: 'toy', shapes, path: '/p', ...interleavedRotaryRows(name, 1, 1, 4) };
    const entry = convertDecoderTensor(q, name, options);

    // fs2 column c is HF row c, which is Meta row 0, 2, 1, 3 (each row starts at 4 * row).
    expect([0, 1, 2, 3].map((c) => entry.data[c])).toEqual([0, 8, 4, 12]);
    expect(exportDecoderTensor(entry, 'wq', options)).toEqual(q);
    expect(interleavedRotaryRows('decoder.layers.0.self_attn.v_proj.weight', 2, 1, 4)).toEqual({});
    expect(interleavedRotaryRows('decoder.layers.0.self_attn.k_proj.weight', 2, 1, 4)).toEqual({ interleavedRotary: { heads: 1, headDim: 4 } });
  });

  it('names the tensor, the file and both shapes on a mismatch', () => {
    const call = () =>
      convertDecoderTensor({ key: 'wk', shape: [4, 4], data: new Float32Array(16) }, 'decoder.layers.0.self_attn.k_proj.weight', { family: 'toy', shapes: SHAPES, path: '/p/c.pth' });

    expect(call).toThrow(TensorShapeError);
    expect(call).toThrow(/^wk has a shape of \[4, 4\] in \/p\/c\.pth, but a shape of \[2, 4\] is expected\.$/);
  });
});

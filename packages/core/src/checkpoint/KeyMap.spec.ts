import { describe, expect, it } from '@jest/globals';

import { CheckpointError, UnmappedKeyError } from './errors.js';
import { KeyMap } from './KeyMap.js';

/** fairseq2's `_HG_KEY_MAP` of the llama family (fairseq2-reference.md §3.1), verbatim, Python `\1`. */
const LLAMA_HF = new KeyMap('llama HF', [
  [String.raw`^model\.layers\.([0-9]+)\.self_attn\.q_proj\.`, String.raw`decoder.layers.\1.self_attn.q_proj.`],
  [String.raw`^model\.layers\.([0-9]+)\.self_attn\.k_proj\.`, String.raw`decoder.layers.\1.self_attn.k_proj.`],
  [String.raw`^model\.layers\.([0-9]+)\.self_attn\.v_proj\.`, String.raw`decoder.layers.\1.self_attn.v_proj.`],
  [String.raw`^model\.layers\.([0-9]+)\.self_attn\.o_proj\.`, String.raw`decoder.layers.\1.self_attn.output_proj.`],
  [String.raw`^model\.layers\.([0-9]+)\.post_attention_layernorm\.`, String.raw`decoder.layers.\1.ffn_layer_norm.`],
  [String.raw`^model\.layers\.([0-9]+)\.mlp\.gate_proj\.`, String.raw`decoder.layers.\1.ffn.gate_proj.`],
  [String.raw`^model\.layers\.([0-9]+)\.mlp\.down_proj\.`, String.raw`decoder.layers.\1.ffn.output_proj.`],
  [String.raw`^model\.layers\.([0-9]+)\.mlp\.up_proj\.`, String.raw`decoder.layers.\1.ffn.inner_proj.`],
  [String.raw`^model\.layers\.([0-9]+)\.input_layernorm\.`, String.raw`decoder.layers.\1.self_attn_layer_norm.`],
  [String.raw`^model\.norm\.`, 'decoder.layer_norm.'],
  [String.raw`^model\.embed_tokens\.`, 'decoder_frontend.embed.'],
  [String.raw`^lm_head\.`, 'final_proj.'],
]);

const HF_KEYS = [
  'model.embed_tokens.weight',
  'model.layers.0.input_layernorm.weight',
  'model.layers.0.mlp.down_proj.weight',
  'model.layers.0.mlp.gate_proj.weight',
  'model.layers.0.mlp.up_proj.weight',
  'model.layers.0.post_attention_layernorm.weight',
  'model.layers.12.self_attn.k_proj.weight',
  'model.layers.12.self_attn.o_proj.weight',
  'model.layers.12.self_attn.q_proj.bias',
  'model.layers.12.self_attn.v_proj.weight',
  'model.norm.weight',
  'lm_head.weight',
];

describe(KeyMap, () => {
  it('converts with the first matching rule, accepting Python and JavaScript group references', () => {
    expect(LLAMA_HF.convert('model.layers.12.self_attn.o_proj.weight', '/m/model.safetensors')).toBe('decoder.layers.12.self_attn.output_proj.weight');
    expect(LLAMA_HF.convert('lm_head.weight', '/m')).toBe('final_proj.weight');
    const ordered = new KeyMap('ordered', [
      [/^a\.(\d+)\.special$/, 'first.$1'],
      [/^a\.(\d+)\./, 'second.$1.'],
    ]);
    expect(ordered.convert('a.3.special', '/m')).toBe('first.3');
    expect(ordered.convert('a.3.other', '/m')).toBe('second.3.other');
    expect(new KeyMap('g', [[/^x\.(\d+)$/, String.raw`y.\g<1>`]]).convert('x.7', '/m')).toBe('y.7');
  });

  it('names the key, the file and the map when no rule matches', () => {
    const error = (() => {
      try {
        return LLAMA_HF.convert('model.layers.0.self_attn.rotary_emb.inv_freq', '/m/model.safetensors');
      } catch (e) {
        return e;
      }
    })() as UnmappedKeyError;
    expect(error).toBeInstanceOf(UnmappedKeyError);
    expect(error.tensor).toBe('model.layers.0.self_attn.rotary_emb.inv_freq');
    expect(error.path).toBe('/m/model.safetensors');
    expect(error.message).toBe('model.layers.0.self_attn.rotary_emb.inv_freq in /m/model.safetensors does not match any entry of the llama HF key map.');
    expect(LLAMA_HF.maybeConvert('unknown')).toBeUndefined();
  });

  it('drops ignored keys and refuses two keys that map to one', () => {
    const meta = new KeyMap('llama Meta', [[/^norm\./, 'decoder.layer_norm.'], [/^output\./, 'final_proj.']], { ignore: [/rope\.freqs/] });
    expect([...meta.convertAll(['norm.weight', 'rope.freqs', 'output.weight'], '/m/consolidated.00.pth')]).toEqual([
      ['norm.weight', 'decoder.layer_norm.weight'],
      ['output.weight', 'final_proj.weight'],
    ]);
    const clash = new KeyMap('clash', [[/^(a|b)$/, 'c']]);
    expect(() => clash.convertAll(['a', 'b'], '/m')).toThrow(new CheckpointError('/m', 'a and b in /m both map to c through the clash key map.', 'b'));
  });

  it('reverses a map for export: every converted key maps back', () => {
    const reverse = LLAMA_HF.reverse();
    expect(reverse.name).toBe('llama HF (reversed)');
    expect(reverse.entries[0]?.[0]).toEqual(/^decoder\.layers\.([0-9]+)\.self_attn\.q_proj\./);
    expect(reverse.entries[0]?.[1]).toBe('model.layers.$1.self_attn.q_proj.');
    for (const key of HF_KEYS) {
      expect(reverse.convert(LLAMA_HF.convert(key, '/m'), '/m')).toBe(key);
    }
    // The escaped dots of the reverse pattern match dots only.
    expect(reverse.maybeConvert('decoderXlayers.0.self_attn.q_proj.weight')).toBeUndefined();
  });

  it('reverses rules with several groups, in any order', () => {
    const moe = new KeyMap('moe', [[/^layers\.([0-9]+)\.experts\.([0-9]+)\.w([13])$/, 'decoder.$2.expert.$1.proj$3']]);
    const forward = moe.convert('layers.4.experts.17.w3', '/m');
    expect(forward).toBe('decoder.17.expert.4.proj3');
    const reverse = moe.reverse('moe export');
    expect(reverse.entries[0]?.[0]).toEqual(/^decoder\.([0-9]+)\.expert\.([0-9]+)\.proj([13])$/);
    expect(reverse.convert(forward, '/m')).toBe('layers.4.experts.17.w3');
  });

  it.each([
    [/^model\.layers\.\d+\./, 'x.', String.raw`The key map pattern /^model\.layers\.\d+\./ is not reversible: \d outside a group is not literal text.`],
    [/^model.norm/, 'x', 'The key map pattern /^model.norm/ is not reversible: . outside a group is not literal text.'],
    [/^(?:a|b)\./, 'x.', 'The key map pattern /^(?:a|b)\\./ is not reversible: it has a non-capturing or named group.'],
    [/^a\.([0-9]+)\.b\.([0-9]+)/, 'x.$1', 'The key map replacement x.$1 of /^a\\.([0-9]+)\\.b\\.([0-9]+)/ is not reversible: it does not use every group of the pattern.'],
    [/^a\.([0-9]+)/, 'x.$1.$1', 'The key map replacement x.$1.$1 of /^a\\.([0-9]+)/ is not reversible: it refers to group 1 twice.'],
    [/^a\.((b)c)/, 'x', 'The key map pattern /^a\\.((b)c)/ is not reversible: it has a nested capturing group.'],
  ])('refuses to reverse %s -> %s', (pattern, replacement, message) => {
    expect(() => new KeyMap('m', [[pattern, replacement]]).reverse()).toThrow(message);
  });
});

import { describe, expect, it } from '@jest/globals';

import { Fs2Error } from '../errors/Fs2Error.js';
import {
  ModelArchitectureNotKnownError,
  ModelFamilyNotDetectedError,
  ModelFamilyNotKnownError,
  ModelGatedError,
  ModelNotKnownError,
} from './errors.js';

describe('model errors', () => {
  it('ModelNotKnownError names the model (not_found)', () => {
    const error = new ModelNotKnownError('gpt3');

    expect(Fs2Error.is(error)).toBe(true);
    expect(error).toMatchObject({ name: 'ModelNotKnownError', modelName: 'gpt3', category: 'not_found' });
    expect(error.message).toBe('gpt3 is not a known model.');
  });

  it('ModelFamilyNotKnownError lists the registered families, when there are any', () => {
    expect(new ModelFamilyNotKnownError('gpt2').message).toBe('gpt2 is not a known model family.');
    expect(new ModelFamilyNotKnownError('gpt2', ['llama', 'qwen'])).toMatchObject({
      familyName: 'gpt2',
      knownFamilies: ['llama', 'qwen'],
      category: 'not_found',
      message: 'gpt2 is not a known model family. Registered families: llama, qwen.',
    });
  });

  it('ModelArchitectureNotKnownError names the architecture and the family', () => {
    expect(new ModelArchitectureNotKnownError('gpt2_huge', 'gpt2')).toMatchObject({
      arch: 'gpt2_huge',
      familyName: 'gpt2',
      category: 'not_found',
      message: 'gpt2_huge is not a known gpt2 model architecture.',
    });
  });

  it('ModelGatedError says where the weights are and how to point fs2 at a copy', () => {
    expect(new ModelGatedError('llama3_8b', 'https://huggingface.co/meta-llama').message).toBe(
      'llama3_8b is a gated model and cannot be loaded. See https://huggingface.co/meta-llama for details. ' +
        'To use a copy you have, add a card to your user asset folder ($FAIRSEQ2_USER_ASSET_DIR, else ~/.config/fairseq2/assets/) ' +
        'with `name: llama3_8b@user` and `checkpoint: /path/to/the/checkpoint`.',
    );
    expect(new ModelGatedError('x', undefined)).toMatchObject({ modelName: 'x', infoUrl: undefined, category: 'user' });
  });

  it('ModelFamilyNotDetectedError names the path and the reason', () => {
    expect(new ModelFamilyNotDetectedError('/m', 'it is empty.')).toMatchObject({
      path: '/m',
      category: 'user',
      message: 'The model family of /m cannot be determined: it is empty.',
    });
  });
});

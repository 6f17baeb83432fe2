import * as tf from '@tensorflow/tfjs';

import { InvalidArgumentError } from '../../errors/Fs2Error.js';
import { ParameterShapeMismatchError, StateKeyMismatchError } from '../errors.js';
import type { StateEntry } from '../loadModuleState.js';

/** The hyper-parameters of {@link AdamW} (PyTorch's `AdamW` and fairseq2's `AdamWConfig` names). */
export interface AdamWOptions {
  /** Learning rate; the trainer sets it before every step from its schedule. Default: `1e-3`. */
  readonly lr?: number;
  /** Decay rates of the first and second moment estimates. Default: `[0.9, 0.999]` (PyTorch's). */
  readonly betas?: readonly [number, number];
  /** Added to the denominator for stability. Default: `1e-8` (PyTorch's). */
  readonly eps?: number;
  /** Decoupled weight decay (Loshchilov & Hutter 2019, arXiv:1711.05101). Default: `0`. */
  readonly weightDecay?: number;
  /**
   * Which parameters weight decay applies to. Default: those of two or more dimensions (matrices:
   * projections and embeddings), not norm gains or biases, as GPT-2 and nanoGPT train.
   */
  readonly decays?: (name: string, shape: readonly number[]) => boolean;
}

/** The names of a parameter's moment estimates in {@link AdamW.stateEntries} (PyTorch's state keys). */
export const ADAMW_STATE_SUFFIXES = ['exp_avg', 'exp_avg_sq'] as const;

/**
 * The AdamW optimizer (Loshchilov & Hutter 2019), step for step PyTorch's `torch.optim.AdamW`
 * (non-AMSGrad): `p ← p (1 − lr·wd)`, `m ← β₁m + (1−β₁)g`, `v ← β₂v + (1−β₂)g²`,
 * `p ← p − lr/(1−β₁ᵗ) · m / (√v/√(1−β₂ᵗ) + ε)`. Written here rather than using `tf.train.adam`,
 * which has no decoupled weight decay and no way to save and restore its moments by parameter name
 * (what an exact resume needs).
 */
export class AdamW {
  /** The learning rate of the next step. */
  lr: number;
  readonly betas: readonly [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  private readonly parameters: ReadonlyMap<string, tf.Variable>;
  private readonly decayed: ReadonlySet<string>;
  private readonly moments = new Map<string, { m: tf.Variable; v: tf.Variable }>();
  private steps = 0;

  constructor(parameters: ReadonlyMap<string, tf.Variable>, options: AdamWOptions = {}) {
    this.lr = options.lr ?? 1e-3;
    this.betas = options.betas ?? [0.9, 0.999];
    this.eps = options.eps ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0;
    for (const [name, value] of [
      ['lr', this.lr],
      ['eps', this.eps],
      ['weightDecay', this.weightDecay],
    ] as const) {
      if (!Number.isFinite(value) || value < 0) {
        throw new InvalidArgumentError(name, `\`${name}\` of AdamW must be a finite non-negative number, but is ${value}.`);
      }
    }
    if (this.betas.some((b) => !(b >= 0 && b < 1))) {
      throw new InvalidArgumentError('betas', `\`betas\` of AdamW must be in [0, 1), but are [${this.betas.join(', ')}].`);
    }
    this.parameters = parameters;
    const decays = options.decays ?? ((_name: string, shape: readonly number[]) => shape.length >= 2);
    this.decayed = new Set([...parameters].filter(([name, v]) => decays(name, v.shape)).map(([name]) => name));
  }

  /** The number of steps taken (PyTorch's `state["step"]`). */
  get stepCount(): number {
    return this.steps;
  }

  /**
   * One update of every parameter from `gradients` (by parameter name; each already averaged and
   * clipped as the caller wants). A parameter without a gradient is left alone.
   */
  step(gradients: ReadonlyMap<string, tf.Tensor>): void {
    this.steps += 1;
    const [b1, b2] = this.betas;
    const t = this.steps;
    const stepSize = this.lr / (1 - b1 ** t);
    const bias2Sqrt = Math.sqrt(1 - b2 ** t);
    for (const [name, parameter] of this.parameters) {
      const gradient = gradients.get(name);
      if (gradient === undefined) {
        continue;
      }
      const moments = this.momentsOf(name, parameter);
      tf.tidy(() => {
        const decayed = this.decayed.has(name) && this.weightDecay > 0 ? tf.mul(parameter, 1 - this.lr * this.weightDecay) : parameter;
        const m = tf.add(tf.mul(moments.m, b1), tf.mul(gradient, 1 - b1));
        const v = tf.add(tf.mul(moments.v, b2), tf.mul(tf.square(gradient), 1 - b2));
        const denominator = tf.add(tf.div(tf.sqrt(v), bias2Sqrt), this.eps);
        moments.m.assign(m);
        moments.v.assign(v);
        parameter.assign(tf.sub(decayed, tf.mul(tf.div(m, denominator), stepSize)));
      });
    }
  }

  /** The moment estimates, `<parameter>.exp_avg` and `<parameter>.exp_avg_sq`, as fresh arrays. */
  *stateEntries(): Generator<StateEntry> {
    for (const [name, { m, v }] of this.moments) {
      yield { name: `${name}.${ADAMW_STATE_SUFFIXES[0]}`, shape: [...m.shape], data: (m.dataSync() as Float32Array).slice() };
      yield { name: `${name}.${ADAMW_STATE_SUFFIXES[1]}`, shape: [...v.shape], data: (v.dataSync() as Float32Array).slice() };
    }
  }

  /**
   * Restores the state {@link stateEntries} and {@link stepCount} gave: every parameter's two
   * moments (or none at all, before the first step).
   *
   * @throws StateKeyMismatchError, ParameterShapeMismatchError for a state of other parameters.
   */
  loadState(entries: Iterable<StateEntry>, stepCount: number): void {
    if (!Number.isSafeInteger(stepCount) || stepCount < 0) {
      throw new InvalidArgumentError('stepCount', `The AdamW step count must be a non-negative integer, but is ${stepCount}.`);
    }
    const expected = new Map<string, readonly number[]>();
    for (const [name, parameter] of this.parameters) {
      for (const suffix of ADAMW_STATE_SUFFIXES) {
        expected.set(`${name}.${suffix}`, parameter.shape);
      }
    }
    const given = new Map<string, StateEntry>();
    const unexpected: string[] = [];
    for (const entry of entries) {
      const shape = expected.get(entry.name);
      if (shape === undefined) {
        unexpected.push(entry.name);
        continue;
      }
      if (shape.length !== entry.shape.length || shape.some((d, i) => d !== entry.shape[i])) {
        throw new ParameterShapeMismatchError(entry.name, shape, entry.shape);
      }
      given.set(entry.name, entry);
    }
    const missing = given.size === 0 && stepCount === 0 ? [] : [...expected.keys()].filter((name) => !given.has(name));
    if (missing.length > 0 || unexpected.length > 0) {
      throw new StateKeyMismatchError(missing, unexpected);
    }
    this.disposeMoments();
    for (const [name, parameter] of this.parameters) {
      const m = given.get(`${name}.${ADAMW_STATE_SUFFIXES[0]}`);
      const v = given.get(`${name}.${ADAMW_STATE_SUFFIXES[1]}`);
      if (m !== undefined && v !== undefined) {
        this.moments.set(name, {
          m: ownedVariable(tf.tensor(m.data.slice(), [...parameter.shape])),
          v: ownedVariable(tf.tensor(v.data.slice(), [...parameter.shape])),
        });
      }
    }
    this.steps = stepCount;
  }

  /** Frees the moment estimates (not the parameters, which belong to the model). */
  dispose(): void {
    this.disposeMoments();
  }

  private momentsOf(name: string, parameter: tf.Variable): { m: tf.Variable; v: tf.Variable } {
    let moments = this.moments.get(name);
    if (moments === undefined) {
      moments = { m: ownedVariable(tf.zerosLike(parameter)), v: ownedVariable(tf.zerosLike(parameter)) };
      this.moments.set(name, moments);
    }
    return moments;
  }

  private disposeMoments(): void {
    for (const { m, v } of this.moments.values()) {
      m.dispose();
      v.dispose();
    }
    this.moments.clear();
  }
}

/** A non-trainable variable holding `initial`'s data; `initial` itself is disposed (a variable is a second tensor on the same data). */
function ownedVariable(initial: tf.Tensor): tf.Variable {
  const variable = tf.variable(initial, false);
  initial.dispose();
  return variable;
}

import * as tf from '@tensorflow/tfjs';

import type { Device } from './devices/Device.js';
import { cpuKernelsFor } from './kernels/cpuKernelsRegistry.js';
import { PanelWeight } from './kernels/PanelWeight.js';
import type { StateRows } from './loadModuleState.js';
import { FusedParameter, Module, type ParameterSlot } from './Module.js';

/** One output block of a {@link Linear}: an fs2 projection name and its width. */
export interface LinearOutput {
  /** The fs2 name of the projection (`decoder.layers.0.self_attn.q_proj`); parameters are `<name>.weight`, `<name>.bias`. */
  readonly name: string;
  /** Its number of output features. */
  readonly dim: number;
  /** A factor folded into its weight and bias at load (default 1). */
  readonly scale?: number;
}

/** Options of {@link Linear}. */
export interface LinearOptions {
  /** Whether the projection has a bias. Default: `false`. */
  readonly bias?: boolean;
  /**
   * Several fs2 projections of the same input fused into this one (q/k/v, gate/inner): their
   * weights are concatenated along the output dimension at load, so one matMul computes them all.
   * Default: one output named after the module.
   */
  readonly outputs?: readonly LinearOutput[];
}

/**
 * `y = x W (+ b)`, with `W` stored `[in, out]` (fairseq2's and HF's `[out, in]` transposed once at
 * load), because every transposed matMul on the wasm backend runs ~10x slower (js-ecosystem.md
 * §2.3). The bias, when present, is added by the same fused kernel.
 *
 * Parameters: `<name>.weight` `[in, out]` and `<name>.bias` `[out]`, per output block.
 *
 * On a device with fs2's CPU kernels (`wasm`, see `configureCpuKernels`) the weight is not a TF.js
 * tensor: it is laid out once, at load, in the kernels' memory ({@link PanelWeight}) and the
 * product runs there on several threads; the input and output stay TF.js tensors.
 */
export class Linear extends Module {
  readonly outputs: readonly LinearOutput[];
  readonly outDim: number;
  readonly hasBias: boolean;
  private readonly weight: FusedParameter;
  private readonly bias: FusedParameter | undefined;
  private panel: PanelWeight | undefined;
  private panelDevice: Device | undefined;

  constructor(
    name: string,
    readonly inDim: number,
    outDim: number,
    options: LinearOptions = {},
  ) {
    super(name);
    this.outputs = options.outputs ?? [{ name, dim: outDim }];
    this.outDim = this.outputs.reduce((total, o) => total + o.dim, 0);
    if (this.outDim !== outDim) {
      throw new RangeError(`The outputs of ${name} add up to ${this.outDim} features, not ${outDim}.`);
    }
    this.hasBias = options.bias ?? false;
    this.weight = new FusedParameter(
      inDim,
      this.outputs.map((o) => ({ name: `${o.name}.weight`, columns: o.dim, ...(o.scale === undefined ? {} : { scale: o.scale }) })),
    );
    this.bias = this.hasBias
      ? new FusedParameter(
          undefined,
          this.outputs.map((o) => ({ name: `${o.name}.bias`, columns: o.dim, ...(o.scale === undefined ? {} : { scale: o.scale }) })),
        )
      : undefined;
  }

  protected override ownSlots(): ParameterSlot[] {
    const weights = this.weight.slots().map((slot, index) => this.routedSlot(slot, index, 'weight'));
    const biases = this.bias?.slots().map((slot, index) => this.routedSlot(slot, index, 'bias')) ?? [];
    return [...weights, ...biases];
  }

  protected override unloadOwn(): void {
    this.weight.unload();
    this.bias?.unload();
    this.panel?.dispose();
    this.panel = undefined;
    this.panelDevice = undefined;
  }

  /**
   * A slot that hands its data to the CPU kernels' panel weight when the device has them, and to
   * the TF.js fused parameter otherwise.
   */
  private routedSlot(slot: ParameterSlot, index: number, kind: 'weight' | 'bias'): ParameterSlot {
    const self = this;
    return {
      name: slot.name,
      shape: slot.shape,
      get received() {
        const panel = self.panel;
        if (panel !== undefined) {
          return kind === 'weight' ? panel.weightReceived(index) : panel.biasReceived(index);
        }
        return slot.received;
      },
      receive(data: Float32Array, device: Device) {
        const panel = self.panelFor(device);
        if (panel === undefined) {
          slot.receive(data, device);
        } else if (kind === 'weight') {
          panel.receiveWeight(index, data);
        } else {
          panel.receiveBias(index, data);
        }
      },
      receiveRows(rows: StateRows, device: Device) {
        const panel = self.panelFor(device);
        if (panel === undefined || kind === 'bias') {
          return false;
        }
        panel.receiveWeightRows(index, rows.reader, rows.layout === 'transposed');
        return true;
      },
      read() {
        const panel = self.panel;
        if (panel !== undefined) {
          return kind === 'weight' ? panel.readWeight(index) : panel.readBias(index);
        }
        return slot.read();
      },
    };
  }

  private panelFor(device: Device): PanelWeight | undefined {
    if (this.panel !== undefined && this.panelDevice === device) {
      return this.panel;
    }
    const kernels = cpuKernelsFor(device);
    if (kernels === undefined) {
      return undefined;
    }
    this.weight.unload();
    this.bias?.unload();
    this.panel?.dispose();
    this.panel = new PanelWeight(
      kernels,
      this.inDim,
      this.outputs.map((o) => ({ columns: o.dim, ...(o.scale === undefined ? {} : { scale: o.scale }) })),
      this.hasBias,
    );
    this.panelDevice = device;
    return this.panel;
  }

  /** The weight in the CPU kernels' memory, when it was loaded there (see `configureCpuKernels`). */
  get panelWeight(): PanelWeight | undefined {
    return this.panel;
  }

  /** `x` `[n, in]` → `[n, out]`. */
  apply(x: tf.Tensor2D): tf.Tensor2D {
    if (this.panel !== undefined && this.panelDevice !== undefined) {
      return this.panel.apply(x, this.panelDevice);
    }
    const weight = this.weight.tensor() as tf.Tensor2D;
    if (this.bias === undefined) {
      return tf.matMul(x, weight);
    }
    return tf.fused.matMul({ a: x, b: weight, bias: this.bias.tensor() }) as tf.Tensor2D;
  }

  /**
   * `x` `[n, in]` → one tensor per output block, `[n, dim]` each (one matMul, one split).
   */
  applySplit(x: tf.Tensor2D): tf.Tensor2D[] {
    if (this.outputs.length === 1) {
      return [this.apply(x)];
    }
    return tf.tidy(() => tf.split(this.apply(x), this.outputs.map((o) => o.dim), 1));
  }
}

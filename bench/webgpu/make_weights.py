"""Random-weight llama checkpoints (HF config.json + model.safetensors, f32) for the webgpu benchmark,
with the shapes of bench/models.mjs (BENCH_MODELS). Runs where Python has torch and safetensors (the
GPU machine): the weights are drawn on the GPU when there is one, so the ~1.2B model takes seconds.
Weights: normal with std 1/sqrt(fan_in) for matrices (the harness's rule), norm gains 1.

Usage: python3 make_weights.py NAME OUT_DIR   (NAME: perf_125m | llama32_1b)
"""
import json
import os
import sys

import torch
from safetensors.torch import save_file

MODELS = {
    "perf_125m": dict(vocab_size=32000, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                      num_key_value_heads=4, intermediate_size=2048, rope_theta=500000.0, tie_word_embeddings=False),
    "llama32_1b": dict(vocab_size=128256, hidden_size=2048, num_hidden_layers=16, num_attention_heads=32,
                       num_key_value_heads=8, intermediate_size=8192, rope_theta=500000.0, tie_word_embeddings=True,
                       rope_scaling=dict(rope_type="llama3", factor=32.0, low_freq_factor=1.0, high_freq_factor=4.0,
                                         original_max_position_embeddings=8192)),
}


def main(name, out):
    shape = MODELS[name]
    config = dict(architectures=["LlamaForCausalLM"], model_type="llama", max_position_embeddings=4096,
                  rms_norm_eps=1e-5, hidden_act="silu", bos_token_id=1, eos_token_id=2, torch_dtype="float32", **shape)
    h = shape["hidden_size"]
    hd = h // shape["num_attention_heads"]
    kv = shape["num_key_value_heads"] * hd
    inter = shape["intermediate_size"]
    shapes = [("model.embed_tokens.weight", (shape["vocab_size"], h))]
    for layer in range(shape["num_hidden_layers"]):
        p = f"model.layers.{layer}."
        shapes += [(p + "input_layernorm.weight", (h,)), (p + "self_attn.q_proj.weight", (h, h)),
                   (p + "self_attn.k_proj.weight", (kv, h)), (p + "self_attn.v_proj.weight", (kv, h)),
                   (p + "self_attn.o_proj.weight", (h, h)), (p + "post_attention_layernorm.weight", (h,)),
                   (p + "mlp.gate_proj.weight", (inter, h)), (p + "mlp.up_proj.weight", (inter, h)),
                   (p + "mlp.down_proj.weight", (h, inter))]
    shapes.append(("model.norm.weight", (h,)))
    if not shape["tie_word_embeddings"]:
        shapes.append(("lm_head.weight", (shape["vocab_size"], h)))
    device = "cuda" if torch.cuda.is_available() else "cpu"
    gen = torch.Generator(device=device).manual_seed(0)
    tensors = {}
    for key, dims in shapes:
        if len(dims) == 1:
            tensors[key] = torch.ones(dims, dtype=torch.float32)
        else:
            tensors[key] = (torch.randn(dims, generator=gen, device=device, dtype=torch.float32) / dims[1] ** 0.5).cpu()
    os.makedirs(out, exist_ok=True)
    save_file(tensors, os.path.join(out, "model.safetensors"))
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    print(f"{name}: {sum(t.numel() for t in tensors.values())} parameters in {out}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

"""rankt5_reference.py -- the model card's reranker in PyTorch, the truth our
engine is tested and benchmarked against.

One definition for every script that needs it (the fixture generators under
tests/gen/ and the PyTorch baselines under eval/bench/): transformers' T5EncoderModel
under `model.`, then the card's score head on the hidden state at position 0,
Linear(d, d) -> LayerNorm(d, eps 1e-12) -> Linear(d, 1). The parameters are
created in that order, so a seeded random initialisation gives the same
weights wherever the module is built.

Scripts under eval/bench/ put this folder on sys.path relative to their own file.
"""
import torch
from transformers import T5Config, T5EncoderModel

# naver/trecdl22-crossencoder-rankT53b-repro: t5-3b's encoder, 24 blocks.
T5_3B = dict(vocab_size=32128, d_model=1024, d_kv=128, d_ff=16384, num_layers=24, num_heads=32,
             relative_attention_num_buckets=32, relative_attention_max_distance=128,
             feed_forward_proj="relu", layer_norm_epsilon=1e-6)


def t5_config(**dims):
    """A T5Config for inference with the encoder alone: no dropout, no cache.
    `dims` are T5Config keywords (vocab_size, d_model, d_kv, d_ff, ...)."""
    return T5Config(**dims, dropout_rate=0.0, is_encoder_decoder=False, use_cache=False)


class RankT5(torch.nn.Module):
    """The model card's reranker: T5 encoder, then Linear -> LayerNorm(1e-12) -> Linear."""

    def __init__(self, config):
        super().__init__()
        self.model = T5EncoderModel(config)
        d = config.d_model
        self.first_transform = torch.nn.Linear(d, d)
        self.layer_norm = torch.nn.LayerNorm(d, eps=1e-12)
        self.linear = torch.nn.Linear(d, 1)

    def forward(self, input_ids, attention_mask=None):
        """input_ids, attention_mask: (batch, seq) -> logits (batch,); no mask means every token counts."""
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        h = self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state  # (batch, seq, d)
        return self.linear(self.layer_norm(self.first_transform(h[:, 0, :]))).squeeze(-1)

"""Building blocks, each a small function with one idea: the ops every block is made of
(`ops`), stems, residual and pre-activation blocks with their stage loop (`residual`),
parameter-free and gated shortcuts (`shortcuts`), attention on the branch (`attention`),
dense and dual-path stages (`dense`, `dual_path`) and the custom layers they use (`layers`).

Layer names are part of the public contract (weight files are matched by them); each
module's docstring lists its own, README.md ("Layer names") lists them all.
"""

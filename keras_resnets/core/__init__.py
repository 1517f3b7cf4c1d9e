"""The model core: `Spec` (what a network is), the one Functional builder (how it is laid
out), the entrypoint factory behind every public constructor, the registry, and counting."""

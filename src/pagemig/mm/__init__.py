"""The kernel model: one module per linux/mm mechanism, functions under their kernel names."""

"""gdviz: a desktop visualizer for teaching gradient descent with autograd and backpropagation."""

__version__ = "0.1.0"

"""pilotbench: benchmark LLMs on tool-using workflows, across models, keys and providers."""

__version__ = "0.1.0"

"""The eval set and script: `python -m eval` scores qa and a stock LlamaIndex baseline side by side."""

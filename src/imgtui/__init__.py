"""imgtui: generate images through OpenAI-compatible APIs in the terminal."""

__version__ = "0.1.0"

"""Access to LLMs: an async chat client with retries, the embedded default model, and code
extraction from replies."""

from codemend.llm.client import LLMClient
from codemend.llm.defaults import default_client, resolve
from codemend.llm.embedded import EmbeddedServer
from codemend.llm.extract import extract_code
from codemend.llm.shared import SharedServer, embedded_server
from codemend.llm.types import ChatInput, ChatModel, ChatResult, Choice, Message, SamplingParams, Usage
from codemend.settings import LLMSettings

__all__ = [
    "ChatInput",
    "ChatModel",
    "ChatResult",
    "Choice",
    "EmbeddedServer",
    "LLMClient",
    "LLMSettings",
    "Message",
    "SamplingParams",
    "SharedServer",
    "Usage",
    "default_client",
    "embedded_server",
    "extract_code",
    "resolve",
]

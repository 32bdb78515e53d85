"""The taskset's default harness: one chat completion per segment, in process, no tools.

Written against verifiers 0.4.0 (``verifiers/v1/harness.py``): "a harness may run its loop
in-process instead of launching a program, as long as every model call goes through ``endpoint``
+ ``secret``" (the run's interception server, which records each call on the trace and applies
the run's model and sampling). Nothing the model writes is executed here; codemend's sandbox
runs it. ``SUPPORTS_RESUME``: each later segment is the whole conversation so far, resent.
"""

from __future__ import annotations

from typing import Any

import httpx
import verifiers.v1 as vf
from verifiers.v1.dialects.chat import message_to_wire
from verifiers.v1.errors import MODEL_TRANSPORT_ERROR_EXIT_CODE


class RepairChatConfig(vf.HarnessConfig):
    pass


class RepairChat(vf.Harness[RepairChatConfig]):
    APPENDS_SYSTEM_PROMPT = True
    SUPPORTS_RESUME = True
    EXECUTES_CODE = False
    NEEDS_CONTAINER = False

    async def launch(  # type: ignore[override]  # the base declares fewer keywords than it passes
        self,
        ctx: vf.ModelContext,
        trace: vf.Trace,
        runtime: vf.Runtime,
        endpoint: str,
        secret: str,
        mcp_urls: dict[str, str],
        data: vf.TaskData,
        tool_interception_url: str | None = None,
    ) -> vf.ProgramResult:
        system, prompt = self.resolve_prompt(data)
        messages: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
        if isinstance(prompt, str):
            messages.append({"role": "user", "content": prompt})
        else:
            messages += [message_to_wire(m) for m in prompt or []]
        body = {"model": ctx.model, "messages": messages}
        headers = {"Authorization": f"Bearer {secret}"}
        url = f"{endpoint.rstrip('/')}/chat/completions"
        try:
            async with httpx.AsyncClient(timeout=httpx.Timeout(None, connect=10.0)) as client:
                response = await client.post(url, json=body, headers=headers)
        except httpx.TransportError as exc:
            return vf.ProgramResult(exit_code=MODEL_TRANSPORT_ERROR_EXIT_CODE, stdout="", stderr=repr(exc))
        if response.is_success:
            return vf.ProgramResult(exit_code=0, stdout="", stderr="")
        failure = f"HTTP {response.status_code}: {response.text[-2000:]}"
        return vf.ProgramResult(exit_code=1, stdout="", stderr=failure)

# ruff: noqa: E501, B018
# fmt: off
"""A user program with mistakes, type-checked by test_typing.py (never run). Each line that
must get a mypy error ends in an ``E:`` comment quoting part of the message; an error on any
other line fails the test. One mistake per line (the formatter is off to keep it so)."""

from __future__ import annotations

import aigate
from aigate.types.chat import ChatCompletionMessageParam

gw = aigate.Gateway(providers={"openai": {}}, routes={"fast": ["openai/gpt-4o-mini"]})
agw = aigate.AsyncGateway(providers={"openai": {}})
M: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Hi"}]

# issue 12's example: misspelt parameters, a made-up role, a string temperature
gw.chat.completions.create(modle="x", mesages=[{"role": "usr"}], temprature="hot")  # E: Unexpected keyword argument "temprature"
# the same mistakes one at a time
gw.chat.completions.create(modle="x", messages=M)  # E: Unexpected keyword argument "modle"
gw.chat.completions.create(model="x", mesages=M)  # E: Unexpected keyword argument "mesages"
gw.chat.completions.create(model="x", messages=[{"role": "usr", "content": "Hi"}])  # E: List item 0 has incompatible type
gw.chat.completions.create(model="x", messages=M, temperature="hot")  # E: No overload variant
gw.chat.completions.create(model="x", messages=M, tool_choice="sometimes")  # E: No overload variant
gw.chat.completions.create(model="x", messages=M, cache={"ttl": 60, "mood": "x"})  # E: No overload variant
gw.chat.completions.create(model="x", messages=M, tools=[{"type": "function"}])  # E: List item 0 has incompatible type
gw.embeddings.create(inptu="x", model="openai/text-embedding-3-small")  # E: Unexpected keyword argument "inptu"
gw.embeddings.create(input=3, model="openai/text-embedding-3-small")  # E: Argument "input" to "create" of "Embeddings" has incompatible type "int"
gw.embeddings.create(input="x", model="m", encoding_format="binary")  # E: Argument "encoding_format"
gw.audio.transcriptions.create(model="openai/whisper-1", file=123)  # E: Argument "file" to "create" of "Transcriptions"

# stream: the result type follows the stream argument
streamed = gw.chat.completions.create(model="x", messages=M, stream=True)
streamed.choices  # E: "Stream" has no attribute "choices"
whole = gw.chat.completions.create(model="x", messages=M)
whole.close()  # E: "ChatCompletion" has no attribute "close"
wrong: aigate.Stream = gw.chat.completions.create(model="x", messages=M)  # E: Incompatible types in assignment
gw.chat.completions.create(model="x", messages=M, stream="yes")  # E: No overload variant
flag = len(M) > 1
either = gw.chat.completions.create(model="x", messages=M, stream=flag)
either.choices  # E: Item "Stream" of "ChatCompletion | Stream" has no attribute "choices"


async def forgot_await() -> None:
    r = agw.chat.completions.create(model="x", messages=M)
    r.choices  # E: "Coroutine[Any, Any, ChatCompletion]" has no attribute "choices"
    s = await agw.chat.completions.create(model="x", messages=M, stream=True)
    for chunk in s:  # E: "AsyncStream" has no attribute "__iter__"
        print(chunk)


# reports and the model browser return declared types
gw.usage.summary(grop_by=["model"])  # E: Unexpected keyword argument "grop_by"
gw.usage.summary()[0].cost  # E: "SummaryRow" has no attribute "cost"
gw.usage.get("call-1").model  # E: Item "None" of "LedgerRecord | None" has no attribute "model"
gw.models.list()[0].cost  # E: "ModelInfo" has no attribute "cost"
gw.models.search(capabilty="vision")  # E: Unexpected keyword argument "capabilty"
gw.for_key(42)  # E: incompatible type "int"; expected "str"

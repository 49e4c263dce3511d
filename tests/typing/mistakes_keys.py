# ruff: noqa: E501, B018
# fmt: off
"""for_key() and keys misused (the same ``E:`` comments as mistakes.py). Needs
``Gateway.for_key`` to return ``KeyedView`` and ``Gateway.keys`` to be declared."""

from __future__ import annotations

import aigate

gw = aigate.Gateway(providers={"openai": {}}, keys="memory://")
agw = aigate.AsyncGateway(providers={"openai": {}}, keys="memory://")
view = gw.for_key("gk_live_x")
view.chat.completions.create(model="x", messages=[{"role": "usr", "content": "Hi"}])  # E: List item 0 has incompatible type
view.chat.completions.create(model="x", messages=[], temprature=0.1)  # E: Unexpected keyword argument "temprature"
view.embeddings.create(inptu="x", model="m")  # E: Unexpected keyword argument "inptu"
view.audio  # E: "KeyedView" has no attribute "audio"
aview = agw.for_key("gk_live_x")
aview.chat.completions.create(model="x", messages=[]).choices  # E: "Coroutine[Any, Any, ChatCompletion]" has no attribute "choices"
gw.keys.create(project="acme")  # E: Item "None" of

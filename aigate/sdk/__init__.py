"""aigate under the official SDKs: in-process transports and ready-made SDK clients.

```python
client = aigate.sdk.openai_client(gw)           # a real openai.OpenAI, answered by gw
client.chat.completions.create(model="fast", messages=[...])
openai.OpenAI(api_key="gk_...", base_url="http://aigate/v1",
              http_client=httpx2.Client(transport=aigate.sdk.transport(gw)))
```

See docs/sdk.md. :data:`ENDPOINTS` is the table of paths the transports answer.
"""

from ._clients import (
    BASE_URL,
    anthropic_client,
    async_anthropic_client,
    async_openai_client,
    async_transport,
    openai_client,
    transport,
)
from ._transport import AsyncGatewayTransport, GatewayTransport
from ._wire import ENDPOINTS, Answer, Endpoint, Invocation, SdkRequest, events_endpoint

__all__ = [
    "BASE_URL",
    "ENDPOINTS",
    "Answer",
    "AsyncGatewayTransport",
    "Endpoint",
    "GatewayTransport",
    "Invocation",
    "SdkRequest",
    "anthropic_client",
    "async_anthropic_client",
    "async_openai_client",
    "async_transport",
    "events_endpoint",
    "openai_client",
    "transport",
]

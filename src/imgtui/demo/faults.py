"""Canned bodies of the demo server's fault modes (what each mode does is `modes.py`).

A request picks a fault mode by model name (`fault-<mode>`) or by path prefix
(`/fault/<mode>/v1/...`).
"""

from __future__ import annotations

#: Prefix of model names that select a fault mode.
FAULT_MODEL_PREFIX = "fault-"


def error_body(
    message: str,
    *,
    type: str = "invalid_request_error",
    param: str | None = None,
    code: str | None = None,
    **extra: object,
) -> dict:
    """An OpenAI-style error body: {"error": {"message", "type", "param", "code", ...}}."""
    return {"error": {"message": message, "type": type, "param": param, "code": code, **extra}}


AUTH_ERROR = error_body("Incorrect API key provided: sk-...abcd", code="invalid_api_key")

RATE_LIMIT_ERROR = error_body(
    "Rate limit reached for gpt-image-1 in organization org-demo on images per minute (IPM): "
    "Limit 5, Used 5, Requested 1. Please try again in 1s.",
    type="requests",
    code="rate_limit_exceeded",
)

SERVER_ERROR = error_body(
    "The server had an error while processing your request. Sorry about that!",
    type="server_error",
    code="server_error",
)

OVERLOADED_ERROR = error_body(
    "The engine is currently overloaded, please try again later.",
    type="server_error",
    code="overloaded",
)

MODERATION_ERROR = error_body(
    "Your request was rejected by the safety system. If you believe this is an error, "
    "contact us at help.openai.com and include the request ID.",
    type="image_generation_user_error",
    code="moderation_blocked",
    moderation_details={"moderation_stage": "input", "categories": ["violence"]},
)

STREAM_UNSUPPORTED_ERROR = error_body(
    "Unsupported parameter: 'stream' is not supported with this model.",
    param="stream",
    code="unsupported_parameter",
)

NGINX_502_HTML = (
    "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1>"
    "</center><hr><center>nginx</center></body></html>"
)

CLOUDFLARE_524_HTML = """<!DOCTYPE html>
<!--[if lt IE 7]> <html class="no-js ie6 oldie" lang="en-US"> <![endif]-->
<!--[if gt IE 8]><!--> <html class="no-js" lang="en-US"> <!--<![endif]-->
<head>
<meta http-equiv="X-UA-Compatible" content="IE=Edge" />
<meta charset="UTF-8" />
<meta name="viewport" content="width=device-width, initial-scale=1" />
<title>api.example.com | 524: A timeout occurred</title>
<link rel="stylesheet" id="cf_styles-css" href="/cdn-cgi/styles/main.css" />
</head>
<body>
<div id="cf-wrapper">
  <div id="cf-error-details" class="p-0">
    <header class="mx-auto pt-10 lg:pt-6 lg:px-8 w-240 lg:w-full mb-8">
      <h1 class="inline-block sm:block sm:mb-2 font-light text-60 lg:text-4xl text-black-dark leading-tight mr-2">
        <span class="inline-block">A timeout occurred</span>
        <span class="code-label">Error code 524</span>
      </h1>
      <div>Visit <a href="https://www.cloudflare.com/5xx-error-landing" target="_blank">cloudflare.com</a> for more information.</div>
      <div class="mt-3">2025-01-01 00:00:00 UTC</div>
    </header>
    <div class="cf-error-footer cf-wrapper w-240 lg:w-full py-10 sm:py-4 sm:px-8 mx-auto text-center sm:text-left border-solid border-0 border-t border-gray-300">
      <p class="text-13">
        <span class="cf-footer-item sm:block sm:mb-1">Cloudflare Ray ID: <strong class="font-semibold">8f00000000000000</strong></span>
        <span class="cf-footer-separator sm:hidden">&bull;</span>
        <span class="cf-footer-item sm:block sm:mb-1">Performance &amp; security by Cloudflare</span>
      </p>
    </div>
  </div>
</div>
</body>
</html>
"""


def unknown_mode_error(mode: str, known: tuple[str, ...]) -> dict:
    """Body of the 400 reply for a `fault-<mode>` that does not exist."""
    return error_body(
        f"Unknown demo fault mode {mode!r}. Known modes: {', '.join(known)}.",
        param="model",
        code="unknown_fault_mode",
    )


# -- replies of relays and other providers (issue 12) -----------------------------------

#: Google's OpenAI-compatible endpoint, invalid key (its own error shape).
GOOGLE_KEY_ERROR = {
    "error": {
        "code": 400,
        "message": "API key not valid. Please pass a valid API key.",
        "status": "INVALID_ARGUMENT",
        "details": [
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "API_KEY_INVALID",
                "domain": "googleapis.com",
                "metadata": {"service": "generativelanguage.googleapis.com"},
            }
        ],
    }
}

#: An error whose message is null: only the type and code say anything.
NULL_MESSAGE_ERROR = {
    "error": {
        "message": None,
        "type": "invalid_request_error",
        "param": None,
        "code": "invalid_size",
    }
}

#: An upstream quota error a relay writes into a 200 event stream without framing.
QUOTA_ERROR = error_body(
    "You exceeded your current quota, please check your plan and billing details.",
    type="insufficient_quota",
    code="insufficient_quota",
)

#: An asynchronous task instead of an image (sub2api / new-api style).
ASYNC_TASK_REPLY = {"task_id": "task_demo_0001", "status": "queued", "created": 1700000000}

TRANSPARENT_ERROR = error_body(
    "Transparent background is not supported for this model.",
    param="background",
    code="invalid_value",
)

#: What a relay says when it parses its upstream's SSE stream as one JSON document.
GO_DECODER_ERROR = error_body(
    "invalid character ':' looking for beginning of value",
    type="new_api_error",
    code="bad_response_body",
)

ZERO_PARTIALS_ERROR = error_body(
    "Streaming must have non-zero partial images", param="partial_images"
)

#: A 400 on a streamed request that does not say why.
VAGUE_ERROR = error_body("Bad request", type="upstream_error", code="bad_request")

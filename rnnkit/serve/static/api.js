// The JSON API of rnnkit serve, from the page: plain requests and the token stream.

/** A server error: its message, status and the request field it names. */
export class ApiError extends Error {
  constructor(body, status) {
    super(body && body.error ? body.error : `HTTP ${status}`);
    this.status = status;
    this.field = body ? body.field : undefined;
  }
}

async function answer(response) {
  let body = null;
  try {
    body = await response.json();
  } catch (_) {
    body = null;
  }
  if (!response.ok) throw new ApiError(body, response.status);
  return body;
}

/** GET a JSON resource. */
export async function getJSON(path) {
  return answer(await fetch(path, { headers: { accept: "application/json" } }));
}

/** POST a JSON body, answer the JSON reply (an ApiError for a 4xx/5xx). */
export async function postJSON(path, body, signal) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    signal,
  });
  return answer(response);
}

/**
 * POST /generate/stream and read its server-sent events as they come (EventSource only does
 * GET, so the body is read with fetch and a ReadableStream). onToken gets each token event;
 * the promise resolves to the last event (the whole generation).
 */
export async function streamGenerate(body, onToken, signal) {
  const response = await fetch("/generate/stream", {
    method: "POST",
    headers: { "content-type": "application/json", accept: "text/event-stream" },
    body: JSON.stringify(body),
    signal,
  });
  if (!response.ok) return answer(response);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let last = null;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let cut;
    while ((cut = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      const data = block.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6));
      if (!data.length) continue;
      const event = JSON.parse(data.join("\n"));
      if (event.error) throw new ApiError(event, 500);
      if ("token" in event) onToken(event);
      else last = event;
    }
  }
  if (last === null) throw new ApiError({ error: "the stream ended without its result" }, 500);
  return last;
}

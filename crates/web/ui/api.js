// Talking to the server: JSON requests and the live event stream.

/** An error with the server's message. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function parse(response) {
  const text = await response.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!response.ok) {
    const message = (body && (body.error || body.message)) || `${response.status} ${response.statusText}`;
    throw new ApiError(response.status, message);
  }
  return body;
}

/** GET a JSON document. */
export async function getJson(path) {
  return parse(await fetch(path, { headers: { Accept: 'application/json' }, credentials: 'same-origin' }));
}

/** POST a JSON body (or nothing) and read the JSON answer. */
export async function postJson(path, body) {
  return parse(await fetch(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    credentials: 'same-origin',
    body: body === undefined ? '' : JSON.stringify(body),
  }));
}

/**
 * Opens the live stream. `onUpdate(payload)` gets every `update` event; `onState(connected)`
 * reports the connection. EventSource reconnects by itself after a drop.
 */
export function connect(onUpdate, onState) {
  const source = new EventSource('/api/events');
  source.addEventListener('update', (event) => {
    let payload;
    try {
      payload = JSON.parse(event.data);
    } catch {
      return;
    }
    onUpdate(payload);
  });
  source.addEventListener('open', () => onState(true));
  source.addEventListener('error', () => onState(false));
  return source;
}

// The WebSocket connection (docs/protocol.md §1–§9, §12): auth, subscriptions that resume
// with `since` after a reconnect, requests matched by `ref`, and an outbox of sends that
// are retried with their client id until acked, so nothing typed offline is lost or doubled.

const OUTBOX_KEY = "parley.outbox";

export class Live {
  /**
   * @param {() => string|null} token  the current access token
   * @param {() => Promise<void>} renew  get a new access token (after close 4001)
   */
  constructor(token, renew) {
    this.token = token;
    this.renew = renew;
    this.ws = null;
    this.state = "idle"; // idle | connecting | open | reconnecting | closed
    this.user = null;
    this.node = null;
    this.subs = new Map(); // channel -> {since, stream, onEvent, onSubscribed, onError}
    this.pending = new Map(); // ref -> {resolve, reject}
    this.outbox = new Map(JSON.parse(sessionStorage.getItem(OUTBOX_KEY) || "[]"));
    this.onState = () => {};
    this.onHello = () => {};
    this.onAck = () => {};
    this.onRefused = () => {}; // (frame, context) a refusal with no caller waiting
    this._refs = 0;
    this._attempt = 0;
    this._timer = null;
  }

  start() {
    if (this.state === "idle" || this.state === "closed") this._connect();
  }

  stop() {
    this.state = "closed";
    clearTimeout(this._timer);
    if (this.ws) this.ws.close(1000);
    this.ws = null;
    this.subs.clear();
    this.outbox.clear();
    this._saveOutbox();
  }

  _setState(state) {
    this.state = state;
    this.onState(state);
  }

  _connect() {
    this._setState(this.state === "idle" || this.state === "closed" ? "connecting" : "reconnecting");
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/ws`);
    this.ws = ws;
    ws.onopen = () => ws.send(JSON.stringify({ type: "auth", token: this.token() || "" }));
    ws.onmessage = (e) => this._frame(JSON.parse(e.data));
    ws.onclose = (e) => this._closed(ws, e.code);
  }

  _closed(ws, code) {
    if (ws !== this.ws || this.state === "closed") return;
    this.ws = null;
    for (const { reject } of this.pending.values()) reject({ code: "unavailable", message: "The connection was lost." });
    this.pending.clear();
    this._setState("reconnecting");
    // Jittered exponential backoff (§12): 0.3–1 s first, doubling up to 30 s.
    const base = Math.min(30, 0.5 * 2 ** this._attempt++);
    let delay = (0.6 + Math.random() * 1.4) * base * 1000;
    if (code === 4029) delay = Math.max(delay, 10_000);
    this._timer = setTimeout(async () => {
      if (code === 4001) {
        try { await this.renew(); } catch { return; } // signed out: the app shows the login page
      }
      if (this.state !== "closed") this._connect();
    }, delay);
  }

  _frame(f) {
    if (f.type === "hello") {
      this._attempt = 0;
      this.user = f.user;
      this.node = f.node;
      this._setState("open");
      this.onHello(f);
      for (const channel of this.subs.keys()) this._subscribe(channel);
      for (const [cid, m] of this.outbox) this._transmit(cid, m);
      return;
    }
    if (f.type === "ping") return this._raw({ type: "pong" });
    const waiter = f.ref !== undefined ? this.pending.get(f.ref) : undefined;
    if (waiter) {
      this.pending.delete(f.ref);
      if (f.type === "error") waiter.reject(f);
      else waiter.resolve(f);
      return;
    }
    if (f.type === "ack") return this._acked(f);
    if (f.type === "error" && f.ref && f.ref.startsWith("send:")) return this._sendRefused(f);
    if (f.type === "error") return this.onRefused(f, null);
    const sub = f.channel ? this.subs.get(f.channel) : undefined;
    if (!sub) return;
    if (f.type === "subscribed") return sub.onSubscribed && sub.onSubscribed(f);
    if (f.type === "unsubscribed") {
      this.subs.delete(f.channel);
      return sub.onEnded && sub.onEnded(f);
    }
    sub.onEvent(f);
  }

  _raw(frame) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN && this.state === "open") {
      this.ws.send(JSON.stringify(frame));
      return true;
    }
    return false;
  }

  /** Send a frame and wait for its reply; rejects with the `error` frame on a refusal. */
  request(frame) {
    const ref = `r${++this._refs}`;
    return new Promise((resolve, reject) => {
      if (!this._raw({ ...frame, ref })) {
        reject({ code: "unavailable", message: "Not connected; try again in a moment." });
        return;
      }
      this.pending.set(ref, { resolve, reject });
    });
  }

  /**
   * Keep a channel subscribed across reconnects. `since()` and `stream()` are asked at every
   * (re)subscribe, so the replay starts after the last event the caller holds.
   */
  subscribe(channel, handlers) {
    this.subs.set(channel, handlers);
    if (this.state === "open") this._subscribe(channel);
  }

  unsubscribe(channel) {
    if (this.subs.delete(channel)) this._raw({ type: "unsubscribe", channel });
  }

  _subscribe(channel) {
    const sub = this.subs.get(channel);
    const frame = { type: "subscribe", channel };
    const since = sub.since ? sub.since() : null;
    if (since !== null && since !== undefined) frame.since = since;
    const stream = sub.stream ? sub.stream() : null;
    if (stream) frame.stream = stream;
    this.request(frame).then(
      (f) => sub.onSubscribed && sub.onSubscribed(f),
      (err) => {
        if (err.code === "unavailable" && this.state !== "open") return; // resubscribed on hello
        if (err.code === "unavailable") setTimeout(() => this.subs.has(channel) && this._subscribe(channel), 2000);
        else (sub.onError || this.onRefused)(err, channel);
      },
    );
  }

  /** Queue a message; it is (re)sent with the same client id until acked or refused. */
  send(channel, body, cid) {
    const m = { channel, body };
    this.outbox.set(cid, m);
    this._saveOutbox();
    this._transmit(cid, m);
  }

  _transmit(cid, m) {
    this._raw({ type: "send", ref: `send:${cid}`, channel: m.channel, client_id: cid, body: m.body });
  }

  _acked(f) {
    this.outbox.delete(f.client_id);
    this._saveOutbox();
    this.onAck(f);
  }

  _sendRefused(f) {
    const cid = f.ref.slice(5);
    const m = this.outbox.get(cid);
    if (f.code === "unavailable" || f.code === "rate_limited") {
      // Nothing was stored: the same client id goes again shortly.
      setTimeout(() => this.outbox.has(cid) && this._transmit(cid, m), 2000);
      return;
    }
    this.outbox.delete(cid);
    this._saveOutbox();
    this.onRefused(f, { clientId: cid, message: m });
  }

  _saveOutbox() {
    sessionStorage.setItem(OUTBOX_KEY, JSON.stringify([...this.outbox]));
  }

  typing(channel) {
    this._raw({ type: "typing", channel });
  }

  read(channel, seq) {
    this._raw({ type: "read", channel, seq });
  }

  /** Tell the open socket about a refreshed token (§2). */
  refreshed(token) {
    if (this.state === "open") this.request({ type: "refresh", token }).catch(() => {});
  }
}

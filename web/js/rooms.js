// What the client knows about one room: messages by seq, read position, presence, typing
// and (in a bot conversation) the answers streaming in. Views render it; nothing here
// touches the DOM.

export class RoomState {
  constructor(room) {
    this.room = room;
    this.channel = `room:${room.id}`;
    this.messages = new Map(); // seq -> message; a seq is held once, whatever path brought it
    this.lastSeq = room.head; // the replay after a reconnect starts here (§12)
    this.lastRead = room.last_read_seq;
    this.oldest = null; // lowest seq loaded through REST history
    this.hasMore = true;
    this.loaded = false;
    this.online = [];
    this.onlineCount = 0;
    this.typing = new Map(); // user id -> {name, until}
    this.streams = new Map(); // stream id -> {id, replyTo, text, index, status, seq, error}
    this.pending = new Map(); // client id -> {body, failed}
    this.listeners = new Set();
  }

  get isBot() {
    return this.room.kind === "bot_conversation";
  }

  get unread() {
    return Math.max(0, this.lastSeq - this.lastRead);
  }

  changed(what, detail) {
    for (const fn of this.listeners) fn(what, detail);
  }

  /** Add messages from REST history or events; returns those that were new. */
  add(list) {
    const added = [];
    for (const m of list) {
      if (this.messages.has(m.seq)) continue;
      this.messages.set(m.seq, m);
      if (m.seq > this.lastSeq) this.lastSeq = m.seq;
      if (m.client_id) this.pending.delete(m.client_id);
      if (m.author && m.author.bot) this._settleStreams(m);
      added.push(m);
    }
    if (added.length) this.changed("messages", added);
    return added;
  }

  page(p) {
    this.loaded = true;
    const seqs = p.items.map((m) => m.seq);
    if (seqs.length) this.oldest = Math.min(this.oldest ?? Infinity, ...seqs);
    this.hasMore = p.has_more;
    this.add(p.items);
  }

  event(f) {
    switch (f.type) {
      case "message":
        this.add([f]);
        break;
      case "presence":
        // `online` lists at most 100 users; `count` (absent from older servers) is all of them.
        this.online = f.online;
        this.onlineCount = typeof f.count === "number" ? f.count : f.online.length;
        this.changed("presence");
        break;
      case "join":
        if (!this.online.some((u) => u.id === f.user.id)) {
          this.online = [...this.online, f.user];
          this.onlineCount += 1;
        }
        this.changed("presence");
        break;
      case "leave":
        if (this.online.some((u) => u.id === f.user.id)) {
          this.online = this.online.filter((u) => u.id !== f.user.id);
          this.onlineCount = Math.max(this.online.length, this.onlineCount - 1);
        }
        this.changed("presence");
        break;
      case "presence_diff": {
        // A crowded room's joins and leaves of one window; `count` is the server's own.
        const gone = new Set(f.left.map((u) => u.id));
        const kept = this.online.filter((u) => !gone.has(u.id));
        const ids = new Set(kept.map((u) => u.id));
        this.online = kept.concat(f.joined.filter((u) => !ids.has(u.id)));
        this.onlineCount = f.count;
        this.changed("presence");
        break;
      }
      case "typing":
        this.typing.set(f.user.id, { name: f.user.name, until: Date.now() + 3000 });
        this.changed("typing");
        setTimeout(() => this.changed("typing"), 3100);
        break;
      case "stream_start":
        // A second start for a held stream (a resubscribe without `stream`) replays it from 0.
        this.streams.set(f.stream, { id: f.stream, replyTo: f.reply_to, text: "", index: -1, status: null });
        this.changed("stream", f.stream);
        break;
      case "delta": {
        const s = this.streams.get(f.stream);
        if (!s || f.index <= s.index) break; // held already
        s.text += f.text;
        s.index = f.index;
        this.changed("stream", f.stream);
        break;
      }
      case "stream_end": {
        const s = this.streams.get(f.stream);
        if (!s) break;
        Object.assign(s, { status: f.status, seq: f.seq ?? null, error: f.error ?? null });
        if (s.seq && this.messages.has(s.seq)) this.streams.delete(f.stream);
        this.changed("stream", f.stream);
        break;
      }
      default:
        break; // unknown events are ignored (§ conventions)
    }
  }

  /** The durable answer replaces the bubble that streamed it. */
  _settleStreams(m) {
    for (const [id, s] of this.streams) {
      if (s.seq === m.seq || (m.reply_to && s.replyTo === m.reply_to)) {
        this.streams.delete(id);
        this.changed("stream", id);
      }
    }
  }

  /** The answer in flight, for `subscribe.stream` after a reconnect (§15 Resume). */
  liveStream() {
    for (const s of this.streams.values()) {
      if (!s.status && s.index >= 0) return { id: s.id, index: s.index };
    }
    return null;
  }

  typingNames(meId) {
    const now = Date.now();
    return [...this.typing.entries()].filter(([id, t]) => id !== meId && t.until > now).map(([, t]) => t.name);
  }
}

// The conversation view shared by study groups and bot conversations: history that scrolls
// back through REST, live messages, pending sends, typing, presence; in a bot conversation
// also the streaming answer with its Stop button and the specialty/urgency card.

import { h, fill, time, clientId } from "./dom.js";
import { ANNOUNCE } from "./quiz.js";

// Names listed beside the online count; the rest of a crowded room is only counted.
const ONLINE_SHOWN = 20;

const URGENCY = {
  emergency: "Emergency — get help now",
  urgent: "Urgent — see a doctor today",
  routine: "Routine — book an appointment",
};

export class ChatView {
  constructor(app, state) {
    this.app = app;
    this.state = state;
    this.me = app.user;
    this._lastTyping = 0;
    this.log = h("ol", { class: "log" });
    // The log role on a wrapper: on the <ol> itself it would hide the list from readers.
    const logBox = h("div", { role: "log", "aria-label": "Messages", "aria-live": "polite", tabindex: "0" }, this.log);
    this.streams = h("div", { class: "streams", "aria-live": "polite" });
    this.more = h("button", { type: "button", class: "more", onclick: () => this.loadEarlier() }, "Load earlier messages");
    this.typingLine = h("p", { class: "typing", "aria-live": "polite" });
    this.online = h("ul", { class: "online", "aria-label": "Online now" });
    this.onlineCount = h("span", { class: "online-count", "aria-live": "polite" });
    this.emergency = h("div", { class: "emergency-pin", hidden: true, role: "alert" });
    this.input = h("textarea", {
      id: "composer", rows: "2", maxlength: "4000", required: true,
      placeholder: state.isBot ? "Describe your symptoms…" : "Write a message…",
      onkeydown: (e) => {
        if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); this.form.requestSubmit(); }
      },
      oninput: () => this.typed(),
    });
    this.form = h("form", { class: "composer", onsubmit: (e) => { e.preventDefault(); this.submit(); } },
      h("label", { for: "composer", class: "visually-hidden" }, state.isBot ? "Your symptoms" : "Message"),
      this.input,
      h("button", { type: "submit" }, "Send"));
    this.scroller = h("div", { class: "scroller", onscroll: () => { if (this.scroller.scrollTop < 40) this.loadEarlier(); } },
      this.more, logBox, this.streams);
    this.el = h("section", { class: `chat ${state.isBot ? "bot" : "group"}`, "aria-label": state.room.name },
      this.emergency,
      state.isBot
        ? h("p", { class: "disclaimer" }, "Symptom2Specialist suggests which kind of doctor to see. It is not a diagnosis. ",
            "In an emergency, call your local emergency number (112) or go to the nearest hospital.")
        : h("div", { class: "presence" }, h("span", { class: "label" }, "Online:"), this.onlineCount, this.online),
      this.scroller, this.typingLine, this.form);
    this._listener = (what, detail) => this.update(what, detail);
    state.listeners.add(this._listener);
    this.renderAll();
  }

  destroy() {
    this.state.listeners.delete(this._listener);
  }

  async open() {
    if (!this.state.loaded) {
      try {
        this.state.page(await this.app.api.get(`/rooms/${this.state.room.id}/messages?limit=50`));
      } catch (e) {
        this.app.refused(e);
      }
    }
    this.scrollToEnd();
    this.markRead();
  }

  async loadEarlier() {
    const s = this.state;
    if (this._loading || !s.loaded || !s.hasMore || s.oldest === null) return;
    this._loading = true;
    const before = this.scroller.scrollHeight - this.scroller.scrollTop;
    try {
      s.page(await this.app.api.get(`/rooms/${s.room.id}/messages?before=${s.oldest}&limit=50`));
      this.scroller.scrollTop = this.scroller.scrollHeight - before; // keep the reader's place
    } catch (e) {
      this.app.refused(e);
    } finally {
      this._loading = false;
    }
  }

  submit() {
    const body = this.input.value.trim();
    if (!body) return;
    const cid = clientId();
    this.state.pending.set(cid, { body });
    this.app.live.send(this.state.channel, body, cid);
    this.input.value = "";
    this.renderPending();
    this.scrollToEnd();
  }

  typed() {
    const now = Date.now();
    if (!this.state.isBot && now - this._lastTyping > 2000) {
      this._lastTyping = now;
      this.app.live.typing(this.state.channel);
    }
  }

  /** Store the read position as soon as the reader has seen the newest message. */
  markRead() {
    const s = this.state;
    if (document.visibilityState !== "visible" || s.lastRead >= s.lastSeq || !s.loaded) return;
    s.lastRead = s.lastSeq;
    this.app.live.read(s.channel, s.lastSeq);
    this.app.renderNav();
  }

  update(what, detail) {
    if (what === "messages") {
      const atEnd = this.scroller.scrollHeight - this.scroller.scrollTop - this.scroller.clientHeight < 80;
      for (const m of detail) this.insert(m);
      this.renderPending();
      this.renderMore();
      this.renderEmergency();
      if (atEnd) this.scrollToEnd();
      this.markRead();
    } else if (what === "presence") {
      // A crowded room would make a list of thousands: the count, and the first names.
      this.onlineCount.textContent = String(this.state.onlineCount);
      fill(this.online, this.state.online.slice(0, ONLINE_SHOWN).map((u) => h("li", {}, u.name)));
    } else if (what === "typing") {
      const names = this.state.typingNames(this.me.id);
      this.typingLine.textContent = names.length ? `${names.join(", ")} ${names.length > 1 ? "are" : "is"} typing…` : "";
    } else if (what === "stream") {
      this.renderStreams();
    } else if (what === "pending") {
      this.renderPending();
    }
  }

  renderAll() {
    fill(this.log);
    for (const seq of [...this.state.messages.keys()].sort((a, b) => a - b)) this.insert(this.state.messages.get(seq));
    this.update("presence");
    this.renderPending();
    this.renderStreams();
    this.renderMore();
    this.renderEmergency();
  }

  renderMore() {
    this.more.hidden = !(this.state.loaded && this.state.hasMore && this.state.oldest !== null);
  }

  /** Put a message in seq order (history pages arrive before live ones or after). */
  insert(m) {
    const li = this.message(m);
    const items = this.log.querySelectorAll("li[data-seq]");
    for (let i = items.length - 1; i >= 0; i--) {
      if (Number(items[i].dataset.seq) < m.seq) {
        items[i].after(li);
        return;
      }
    }
    this.log.prepend(li);
  }

  message(m) {
    const bot = Boolean(m.author && m.author.bot);
    const mine = !bot && m.author && m.author.id === this.me.id;
    return h("li", { class: `msg${bot ? " from-bot" : ""}${mine ? " mine" : ""}`, dataset: { seq: String(m.seq) } },
      h("div", { class: "meta" }, h("span", { class: "author" }, bot ? m.author.name : (mine ? "You" : m.author.name)),
        " ", h("time", { datetime: m.created_at }, time(m.created_at))),
      m.triage ? triageCard(m.triage) : null, // the verdict first, before the text
      h("div", { class: "body" }, m.body),
      this.joinButton(m));
  }

  /** A "Live quiz started" announcement in a group becomes a button that joins it. */
  joinButton(m) {
    const found = !this.state.isBot && ANNOUNCE.exec(m.body);
    if (!found) return null;
    const sid = Number(found[1]);
    return h("button", { type: "button", class: "join-quiz", onclick: () => this.app.openQuiz(this.state.room.id, sid) },
      `Join live quiz #${sid}`);
  }

  renderPending() {
    for (const el of this.log.querySelectorAll("li.pending")) el.remove();
    for (const [cid, p] of this.state.pending) {
      this.log.append(h("li", { class: "msg mine pending", dataset: { clientId: cid } },
        h("div", { class: "meta" }, h("span", { class: "author" }, "You"), " ",
          h("span", { class: "state" }, this.app.live.state === "open" ? "sending…" : "waiting for connection…")),
        h("div", { class: "body" }, p.body)));
    }
  }

  renderStreams() {
    fill(this.streams, [...this.state.streams.values()].map((s) => {
      const running = !s.status;
      return h("div", { class: "msg from-bot streaming", dataset: { stream: s.id }, "aria-busy": running ? "true" : "false" },
        h("div", { class: "meta" }, h("span", { class: "author" }, "Symptom2Specialist"), " ",
          h("span", { class: "state" }, running ? "answering…" : streamStatus(s))),
        h("div", { class: "body answer" }, s.text),
        running ? h("button", { type: "button", class: "stop", onclick: () => this.stop(s.id) }, "Stop") : null);
    }));
    this.scrollToEnd();
  }

  async stop(stream) {
    try {
      await this.app.live.request({ type: "cancel", channel: this.state.channel, stream });
    } catch (e) {
      this.app.refused(e);
    }
  }

  renderEmergency() {
    if (!this.state.isBot) return;
    const last = [...this.state.messages.values()].filter((m) => m.triage && m.triage.urgency === "emergency").pop();
    this.emergency.hidden = !last;
    if (last) {
      const flags = last.triage.red_flags && last.triage.red_flags.length ? ` Warning signs: ${last.triage.red_flags.join(", ")}.` : "";
      fill(this.emergency, h("strong", {}, "Emergency: "), `Call your local emergency number (112) or go to the nearest hospital now.${flags}`);
    }
  }

  scrollToEnd() {
    requestAnimationFrame(() => { this.scroller.scrollTop = this.scroller.scrollHeight; });
  }
}

function streamStatus(s) {
  if (s.status === "cancelled") return "stopped";
  if (s.status === "failed") return `failed: ${s.error ? s.error.message : "the answer could not be finished"}`;
  if (s.status === "interrupted") return "interrupted";
  return "done";
}

function triageCard(t) {
  const urgency = t.urgency || "routine";
  return h("div", { class: `triage ${urgency}`, role: urgency === "emergency" ? "alert" : null },
    h("span", { class: "urgency" }, URGENCY[urgency] || urgency),
    t.specialty ? h("span", { class: "specialty" }, "See: ", h("strong", {}, t.specialty.name)) : null);
}

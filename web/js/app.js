// Parley's web client: screens and navigation. Speaks only docs/protocol.md: REST under
// /api/v1 (api.js) and one WebSocket at /ws (live.js).

import { Api } from "./api.js";
import { Live } from "./live.js";
import { RoomState } from "./rooms.js";
import { ChatView } from "./chatview.js";
import { QuizPanel } from "./quiz.js";
import { h, fill, time, $ } from "./dom.js";

// Seeded by `parley serve` on a development server (domain/seed).
const DEMO = { email: "demo@parley.local", password: "parley-demo" };

const REFUSAL = {
  offline: "You are offline",
  unauthorized: "Please log in again",
  forbidden: "Not allowed",
  not_found: "Not found",
  conflict: "Conflict",
  invalid: "Check what you entered",
  too_large: "Too long",
  rate_limited: "Slow down",
  unavailable: "The server is busy",
  internal: "Something went wrong",
};

class App {
  constructor() {
    this.api = new Api();
    this.live = new Live(() => this.api.access, () => this.api.refresh());
    this.user = null;
    this.rooms = new Map();
    this.current = null; // {id, tab}
    this.view = null;
    this.panel = null;
    this.main = $("#main");
    this.conn = $("#conn");
    this.notices = $("#notices");
    this.api.onToken = (token) => this.live.refreshed(token);
    this.api.onSignedOut = () => {
      if (this._leaving) return; // the person logged out: no need to tell them
      this.signedOut();
      this.notify("You have been signed out. Log in again to continue.");
    };
    this.live.onState = (state) => this.connection(state);
    this.live.onRefused = (err, ctx) => this.refusedSend(err, ctx);
    $("#logout").addEventListener("click", () => this.logout());
  }

  async boot() {
    if (this.api.canResume) {
      try {
        await this.api.refresh();
        return await this.enter();
      } catch {
        // The stored refresh token is spent or revoked: log in again.
      }
    }
    this.showAuth();
  }

  // ---- notices -------------------------------------------------------------------------

  notify(text, kind = "error") {
    const note = h("div", { class: `notice ${kind}` }, h("span", {}, text),
      h("button", { type: "button", class: "dismiss", "aria-label": "Dismiss", onclick: () => note.remove() }, "×"));
    this.notices.append(note);
    setTimeout(() => note.remove(), 12000);
  }

  /** Show a refusal from REST (ApiError) or the socket (an `error` frame) as a sentence. */
  refused(err) {
    const code = err.code || "internal";
    const title = REFUSAL[code] || "Refused";
    this.notify(`${title}: ${err.message || "the server refused this."}`);
  }

  refusedSend(err, ctx) {
    if (ctx && ctx.clientId) {
      for (const s of this.rooms.values()) {
        if (s.pending.delete(ctx.clientId)) s.changed("pending");
      }
      const conflict = err.code === "conflict" && err.details && err.details.stream;
      this.notify(conflict ? "Wait for the current answer to finish, or press Stop, before asking again."
        : `${REFUSAL[err.code] || "Refused"}: ${err.message} Your message was not sent.`);
      return;
    }
    this.refused(err);
  }

  connection(state) {
    const show = state === "reconnecting" || state === "connecting";
    this.conn.hidden = !show;
    this.conn.textContent = state === "reconnecting" ? "Reconnecting…" : show ? "Connecting…" : "";
    document.body.dataset.connection = state;
    if (this.live.node) document.body.dataset.node = this.live.node;
    if (this.view) this.view.update("pending");
  }

  // ---- signing in ----------------------------------------------------------------------

  showAuth() {
    document.body.dataset.screen = "auth";
    $("#who").textContent = "";
    $("#logout").hidden = true;
    const dev = document.documentElement.dataset.env === "development";
    const run = (fn) => async (e) => {
      e.preventDefault();
      const form = e.currentTarget.tagName === "FORM" ? e.currentTarget : null;
      const button = form ? form.querySelector("button[type=submit]") : e.currentTarget;
      button.disabled = true;
      try {
        await fn(form ? new FormData(form) : null);
        await this.enter();
      } catch (err) {
        this.refused(err);
      } finally {
        button.disabled = false;
      }
    };
    fill(this.main, h("div", { class: "auth" },
      h("p", { class: "intro" }, "Study groups, live quizzes and a symptom checker, in real time."),
      dev ? h("button", { type: "button", class: "demo", onclick: run(() => this.api.login(DEMO.email, DEMO.password)) },
        "Try the demo account") : null,
      h("form", { class: "card", "aria-labelledby": "login-title", onsubmit: run((d) => this.api.login(d.get("email"), d.get("password"))) },
        h("h2", { id: "login-title" }, "Log in"),
        field("login-email", "Email", { name: "email", type: "email", autocomplete: "username", required: true }),
        field("login-password", "Password", { name: "password", type: "password", autocomplete: "current-password", required: true }),
        h("button", { type: "submit" }, "Log in")),
      h("form", { class: "card", "aria-labelledby": "signup-title", onsubmit: run((d) => this.api.register(d.get("email"), d.get("password"), d.get("name"))) },
        h("h2", { id: "signup-title" }, "Sign up"),
        field("signup-name", "Display name", { name: "name", autocomplete: "nickname", required: true, maxlength: "64" }),
        field("signup-email", "Email", { name: "email", type: "email", autocomplete: "email", required: true }),
        field("signup-password", "Password (8 characters or more)", { name: "password", type: "password", autocomplete: "new-password", required: true, minlength: "8" }),
        h("button", { type: "submit" }, "Create account"))));
  }

  async enter() {
    this.user = await this.api.get("/users/me");
    this.user.name = this.user.display_name || this.user.name;
    const rooms = await this.api.get("/rooms");
    this.rooms.clear();
    this.live.start();
    for (const r of rooms) this.track(r);
    document.body.dataset.screen = "app";
    $("#who").textContent = this.user.name;
    $("#logout").hidden = false;
    this.nav = h("nav", { class: "side", "aria-label": "Rooms" });
    this.content = h("div", { class: "content" });
    fill(this.main, h("div", { class: "layout" }, this.nav, this.content));
    this.renderNav();
    // After a reload, the room that was open (an answer in flight there resumes, §15).
    const last = Number(sessionStorage.getItem("parley.room"));
    const first = this.rooms.get(last) || [...this.rooms.values()].find((s) => !s.isBot);
    if (first) this.open(first.room.id, "chat");
    else fill(this.content, h("p", { class: "empty" }, "Create a study group, join one with an invite code, or start a symptom check."));
  }

  /** Follow a room: subscribed for as long as the app runs, for unread counts and presence. */
  track(room) {
    const state = new RoomState(room);
    this.rooms.set(room.id, state);
    // Sends still unacked when the page was reloaded: shown as pending, sent on `hello`.
    for (const [cid, m] of this.live.outbox) if (m.channel === state.channel) state.pending.set(cid, { body: m.body });
    state.listeners.add((what) => { if (what === "messages") this.renderNav(); });
    this.live.subscribe(state.channel, {
      since: () => state.lastSeq,
      stream: () => state.liveStream(),
      onEvent: (f) => state.event(f),
      onSubscribed: (f) => {
        if (!f.recovered) { // the server's history restarted (§12.5): reload it
          state.messages.clear();
          state.loaded = false;
          state.lastSeq = f.head;
          if (this.view && this.view.state === state) this.view.renderAll(), this.view.open();
        }
      },
      onEnded: (f) => {
        this.notify(`You no longer have access to “${room.name}” (${f.reason}).`);
        this.forget(room.id);
      },
      onError: (e) => this.refused(e),
    });
    return state;
  }

  forget(id) {
    this.rooms.delete(id);
    this.live.unsubscribe(`room:${id}`);
    if (this.current && this.current.id === id) {
      this.close();
      fill(this.content);
    }
    this.renderNav();
  }

  renderNav() {
    if (!this.nav) return;
    const item = (s) => {
      const active = this.current && this.current.id === s.room.id;
      return h("li", {}, h("button", {
        type: "button", class: "room", "aria-current": active ? "page" : null,
        onclick: () => this.open(s.room.id, "chat"),
      }, h("span", { class: "name" }, s.room.name, s.isBot ? h("span", { class: "when" }, ` · ${when(s.room.created_at)}`) : null),
      s.unread && !active ? h("span", { class: "badge", "aria-label": `${s.unread} unread` }, String(s.unread)) : null));
    };
    const all = [...this.rooms.values()];
    fill(this.nav,
      h("h2", {}, "Study groups"),
      h("ul", { class: "rooms" }, all.filter((s) => !s.isBot).map(item)),
      h("form", { class: "inline", onsubmit: (e) => this.act(e, (d) => this.api.post("/rooms", { name: d.get("name") })) },
        h("label", { for: "new-group" }, "New group"),
        h("input", { id: "new-group", name: "name", required: true, maxlength: "100" }),
        h("button", { type: "submit" }, "Create")),
      h("form", { class: "inline", onsubmit: (e) => this.act(e, (d) => this.api.post("/rooms/join", { invite_code: d.get("code").trim() })) },
        h("label", { for: "invite" }, "Invite code"),
        h("input", { id: "invite", name: "code", required: true, autocomplete: "off" }),
        h("button", { type: "submit" }, "Join")),
      h("h2", {}, "Symptom checks"),
      h("ul", { class: "rooms" }, all.filter((s) => s.isBot).map(item)),
      h("button", { type: "button", class: "new-check", onclick: (e) => this.act(e, () => this.api.post("/rooms", { kind: "bot_conversation" })) },
        "New symptom check"));
  }

  /** Run a form's action that yields a room, then open it; refusals are shown. */
  async act(e, fn) {
    e.preventDefault();
    const form = e.currentTarget.tagName === "FORM" ? e.currentTarget : null;
    try {
      const room = await fn(form ? new FormData(form) : null);
      if (form) form.reset();
      const state = this.rooms.get(room.id) || this.track(room);
      this.open(state.room.id, "chat");
    } catch (err) {
      this.refused(err);
    }
  }

  close() {
    if (this.view) this.view.destroy();
    if (this.panel) this.panel.destroy();
    this.view = this.panel = null;
  }

  open(id, tab, session = null) {
    const state = this.rooms.get(id);
    if (!state) return;
    this.close();
    this.current = { id, tab };
    sessionStorage.setItem("parley.room", String(id));
    const room = state.room;
    const other = tab === "chat" ? "quiz" : "chat";
    const tabs = state.isBot ? null : h("div", {
      class: "tabs", role: "tablist", "aria-label": "Group views",
      // Arrow keys move between the two tabs, as screen-reader users expect of a tablist.
      onkeydown: (e) => {
        if (e.key === "ArrowLeft" || e.key === "ArrowRight") {
          this.open(id, other);
          this.content.querySelector("[role=tab][aria-selected=true]").focus();
        }
      },
    }, ["chat", "quiz"].map((t) => h("button", {
      type: "button", role: "tab", id: `tab-${t}`, "aria-selected": String(t === tab), "aria-controls": "tabpanel",
      tabindex: t === tab ? "0" : "-1", onclick: () => this.open(id, t),
    }, t === "chat" ? "Chat" : "Live quiz")));
    let body;
    if (tab === "quiz") {
      this.panel = new QuizPanel(this, state);
      if (session) this.panel.join(session);
      body = this.panel.el;
    } else {
      this.view = new ChatView(this, state);
      body = this.view.el;
    }
    fill(this.content, h("header", { class: "room-head" }, h("h2", {}, room.name),
      room.invite_code ? h("span", { class: "invite" }, "Invite code: ", h("code", {}, room.invite_code)) : null,
      state.isBot ? h("button", { type: "button", class: "danger", onclick: () => this.remove(state) }, "Delete conversation") : null,
      tabs), tabs ? h("div", { id: "tabpanel", role: "tabpanel", class: "tabpanel", "aria-labelledby": `tab-${tab}` }, body) : body);
    if (this.view) this.view.open();
    this.renderNav();
  }

  async remove(state) {
    try {
      await this.api.request("DELETE", `/rooms/${state.room.id}`);
      this.forget(state.room.id);
    } catch (e) {
      this.refused(e);
    }
  }

  openQuiz(roomId, session) {
    this.open(roomId, "quiz", session);
  }

  async logout() {
    this._leaving = true;
    try {
      await this.api.logout();
    } finally {
      this._leaving = false;
    }
    this.signedOut();
  }

  signedOut() {
    this.close();
    this.live.stop();
    this.rooms.clear();
    sessionStorage.removeItem("parley.room");
    this.user = null;
    this.nav = null;
    this.current = null;
    this.conn.hidden = true;
    this.showAuth();
  }
}

/** A bot conversation's label: they share a name, so tell them apart by when they began. */
function when(iso) {
  const d = new Date(iso);
  const today = d.toDateString() === new Date().toDateString();
  return today ? time(iso) : d.toLocaleDateString([], { month: "short", day: "numeric" });
}

function field(id, label, attrs) {
  return h("div", { class: "field" }, h("label", { for: id }, label), h("input", { id, ...attrs }));
}

const app = new App();
window.parley = app; // for the browser console and the end-to-end tests
app.boot();

// The live quiz panel of a study group (docs/protocol.md §16): start a session (owners and
// admins), join one, answer the open question before the server's deadline, see the
// reveal, the session's board moving and one's own rank; and the group's all-time board.

import { h, fill } from "./dom.js";

export const ANNOUNCE = /^Live quiz started: session #(\d+)/;

export class QuizPanel {
  constructor(app, state) {
    this.app = app;
    this.state = state;
    this.session = null;
    this.question = null;
    this.answered = null;
    this.deadline = 0;
    this._tick = null;
    const manages = ["owner", "admin"].includes(state.room.my_role);
    // Enabled once the group's quizzes are listed (and there is one to play).
    this.startButton = h("button", { type: "submit", disabled: true }, "Start live session");
    this.quizSelect = h("select", { id: "quiz-pick" });
    this.seconds = h("input", { id: "quiz-seconds", type: "number", min: "1", max: "300", value: "20" });
    this.sessionInput = h("input", { id: "session-id", type: "number", min: "1", inputmode: "numeric" });
    this.status = h("p", { class: "quiz-status", role: "status" }, "No session joined yet.");
    this.countdown = h("p", { class: "countdown", role: "timer", "aria-live": "off" });
    this.prompt = h("h3", { class: "question", tabindex: "-1" });
    this.options = h("div", { class: "options", role: "group", "aria-label": "Answers" });
    this.explanation = h("p", { class: "explanation" });
    this.board = h("ol", { class: "board", "aria-label": "Session leaderboard" });
    this.rank = h("p", { class: "my-rank", role: "status" });
    this.allTime = h("ol", { class: "board", "aria-label": "Group leaderboard, all time" });
    this.el = h("section", { class: "quiz", "aria-label": "Live quiz" },
      manages ? h("form", { class: "row", onsubmit: (e) => { e.preventDefault(); this.start(); } },
        h("label", { for: "quiz-pick" }, "Quiz"), this.quizSelect,
        h("label", { for: "quiz-seconds" }, "Seconds per question"), this.seconds,
        this.startButton) : null,
      h("form", { class: "row", onsubmit: (e) => { e.preventDefault(); this.join(Number(this.sessionInput.value)); } },
        h("label", { for: "session-id" }, "Session number"), this.sessionInput,
        h("button", { type: "submit" }, "Join session")),
      this.status, this.prompt, this.countdown, this.options, this.explanation,
      h("div", { class: "boards" },
        h("div", {}, h("h3", {}, "This session"), this.rank, this.board),
        h("div", {}, h("h3", {}, "All time"), this.allTime)));
    if (manages) this.loadQuizzes();
    app.live.subscribe(`leaderboard:${state.room.id}`, {
      onEvent: (f) => { if (f.type === "board") this.renderBoard(this.allTime, f); },
      onError: (e) => app.refused(e),
    });
  }

  destroy() {
    clearInterval(this._tick);
    this.app.live.unsubscribe(`leaderboard:${this.state.room.id}`);
    if (this.session) this.app.live.unsubscribe(`quiz:${this.session}`);
  }

  async loadQuizzes() {
    try {
      const quizzes = await this.app.api.get(`/rooms/${this.state.room.id}/quizzes`);
      fill(this.quizSelect, quizzes.map((q) => h("option", { value: String(q.id) }, `${q.title} (${q.question_count} questions)`)));
      if (!quizzes.length) this.quizSelect.append(h("option", { value: "" }, "No quizzes in this group yet"));
      this.startButton.disabled = !quizzes.length;
    } catch (e) {
      this.app.refused(e);
    }
  }

  async start() {
    const api = this.app.api;
    try {
      const created = await api.post(`/quizzes/${this.quizSelect.value}/sessions`, { seconds_per_question: Number(this.seconds.value) });
      await api.post(`/sessions/${created.id}/start`);
      // Members learn the session from the group chat: there is no listing of sessions.
      this.app.live.send(this.state.channel, `Live quiz started: session #${created.id}. Open "Live quiz" to play.`, `w-${crypto.randomUUID()}`);
      this.join(created.id);
    } catch (e) {
      this.app.refused(e);
    }
  }

  join(sid) {
    if (!Number.isInteger(sid) || sid < 1) return this.app.notify("Enter the session number to join.");
    if (this.session) this.app.live.unsubscribe(`quiz:${this.session}`);
    this.session = sid;
    this.sessionInput.value = String(sid);
    this.status.textContent = `Session #${sid}: waiting for the first question…`;
    fill(this.board);
    this.rank.textContent = "";
    this.app.live.subscribe(`quiz:${sid}`, {
      onEvent: (f) => this.event(f),
      onError: (e) => { this.status.textContent = `Could not join session #${sid}.`; this.app.refused(e); },
    });
  }

  event(f) {
    if (f.type === "question") {
      this.question = f;
      this.answered = null;
      this.deadline = Date.parse(f.deadline);
      this.status.textContent = `Question ${f.index + 1} of ${f.count}`;
      this.prompt.textContent = f.question.text;
      this.explanation.textContent = "";
      fill(this.options, f.question.options.map((text, i) =>
        h("button", { type: "button", class: "option", dataset: { option: String(i) }, onclick: () => this.answer(i) },
          `${"ABCD"[i]}. ${text}`)));
      clearInterval(this._tick);
      this._tick = setInterval(() => this.tick(), 250);
      this.tick();
    } else if (f.type === "reveal") {
      clearInterval(this._tick);
      this.countdown.textContent = "";
      for (const b of this.options.querySelectorAll("button")) {
        const i = Number(b.dataset.option);
        b.disabled = true;
        if (i === f.correct_index) b.classList.add("correct");
        else if (i === this.answered) b.classList.add("wrong");
      }
      const verdict = this.answered === null ? "You did not answer." : this.answered === f.correct_index ? "Correct!" : "Not this time.";
      this.explanation.textContent = `Answer: ${"ABCD"[f.correct_index]}. ${verdict} ${f.explanation || ""}`;
    } else if (f.type === "ended") {
      clearInterval(this._tick);
      this.countdown.textContent = "";
      this.status.textContent = `Session #${this.session} has ended.`;
    } else if (f.type === "board") {
      this.renderBoard(this.board, f);
    } else if (f.type === "rank") {
      this.rank.textContent = `Your rank: #${f.rank} · ${f.score} points`;
    }
  }

  tick() {
    const left = Math.max(0, Math.ceil((this.deadline - Date.now()) / 1000));
    this.countdown.textContent = left > 0 ? `${left} s left` : "Time is up";
    if (left === 0) {
      clearInterval(this._tick);
      for (const b of this.options.querySelectorAll("button")) b.disabled = true;
    }
  }

  async answer(option) {
    const q = this.question;
    if (!q || this.answered !== null) return;
    try {
      await this.app.live.request({ type: "answer", session: this.session, question_id: q.question.id, option });
      this.answered = option;
      for (const b of this.options.querySelectorAll("button")) {
        b.disabled = true;
        if (Number(b.dataset.option) === option) b.setAttribute("aria-pressed", "true");
      }
      this.explanation.textContent = "Answer sent. Waiting for the reveal…";
    } catch (e) {
      this.app.refused(e);
    }
  }

  renderBoard(list, f) {
    fill(list, f.top.map((e) => h("li", { class: e.user.id === this.app.user.id ? "me" : null, dataset: { user: String(e.user.id) } },
      h("span", { class: "rank" }, `#${e.rank}`), " ", h("span", { class: "name" }, e.user.name), " ",
      h("span", { class: "score" }, `${e.score} pts`))));
    if (!f.top.length) list.append(h("li", { class: "empty" }, "No scores yet."));
  }
}
